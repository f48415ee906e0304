"""bot/rasa_channels.py: the web server imports only the channels it serves, and still finds any other."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rasa.shared.exceptions import RasaException

from bot.channels.rest import ValidatingRestInput
from bot.channels.socketio import ValidatingSocketIOInput
from bot.rasa_channels import channels_from_credentials

ROOT = Path(__file__).resolve().parents[2]
SDKS = ("aiogram", "webexteamssdk", "slack_sdk", "fbmessenger", "questionary", "twilio", "rasa.core.run")


def in_a_fresh_process(code: str) -> str:
    prelude = ("import sys; sys.modules['jax'] = None\n"
               "from bot.rasa_channels import defer_builtin_channels\n"
               "assert defer_builtin_channels()\n")
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_web_server_loads_no_channel_sdk() -> None:
    found = in_a_fresh_process(
        "import bot.app\n"
        "from rasa.core.channels import UserMessage, InputChannel\n"
        "from rasa.core.channels.channel import UserMessage as Same\n"
        "assert UserMessage is Same\n"
        f"print(sorted(m for m in {SDKS!r} if m in sys.modules))")
    assert found == "[]"


def test_a_builtin_name_loads_every_channel_as_rasa_would() -> None:
    found = in_a_fresh_process(
        "import rasa.core.channels as channels\n"
        "print(sorted(channels.BUILTIN_CHANNELS)[:3], 'aiogram' in sys.modules)")
    assert found == "['botframework', 'callback', 'cmdline'] True"


def test_credentials_yml_gives_our_two_channels() -> None:
    channels = channels_from_credentials(ROOT / "credentials.yml")
    assert [type(c) for c in channels] == [ValidatingRestInput, ValidatingSocketIOInput]
    assert channels[1].user_message_evt == "user_uttered" and channels[1].session_persistence is True


def test_a_builtin_channel_by_name_and_bad_names(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("rest: {}\n")
    assert [c.name() for c in channels_from_credentials(credentials)] == ["rest"]
    for wrong in ("telegrm: {}\n", "bot.channels.rest.NoSuchInput: {}\n", "no_such_module.Input: {}\n"):
        credentials.write_text(wrong)
        with pytest.raises(RasaException, match="input channel"):
            channels_from_credentials(credentials)
