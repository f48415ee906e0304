"""``python -m bot channels check`` and ``channels telegram-webhook`` against the fake providers."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict

from tests.bot.fake_providers import FakeGraphApi, FakeTelegramApi
from tests.bot.servers import ROOT

META = {"META_APP_SECRET": "an-app-secret", "META_VERIFY_TOKEN": "a-verify-token"}


def command(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("META_", "WHATSAPP_", "MESSENGER_", "INSTAGRAM_", "TELEGRAM_"))}
    return subprocess.run([sys.executable, "-m", "bot", "channels", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_check_says_what_is_set_and_reachable_without_printing_a_secret():
    with FakeGraphApi() as graph, FakeTelegramApi() as telegram:
        env = {**graph.env(), **telegram.env(), **META, "PUBLIC_URL": "https://chat.shop.example"}
        env.pop("INSTAGRAM_TOKEN")
        done = command(env, "check")
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "WhatsApp:\n  settings: WHATSAPP_TOKEN set" in out and "+44 7700 900123" in out
    assert "Instagram:\n  settings: INSTAGRAM_TOKEN missing" in out and "off (set the missing" in out
    assert "https://chat.shop.example/webhooks/whatsapp/webhook" in out
    assert "Telegram bot @kettle_crumb_bot" in out and "no webhook" in out  # not registered yet
    assert "Messenger:" in out and "a person's reply: up to 24 hours after" in out  # no META_HUMAN_AGENT
    assert "set WHATSAPP_REPLY_TEMPLATE to an approved template" in out
    for secret in (graph.whatsapp_token, graph.page_token, telegram.token, META["META_APP_SECRET"]):
        assert secret not in out + done.stderr


def test_check_fails_when_a_channel_that_is_on_cannot_reach_its_provider():
    with FakeTelegramApi() as telegram:
        env = {**telegram.env(), "TELEGRAM_BOT_TOKEN": "999:not-the-bots-token"}
        done = command(env, "check")
    assert done.returncode == 1 and "Telegram:" in done.stdout and "NOT reachable" in done.stdout
    assert "999:not-the-bots-token" not in done.stdout + done.stderr


def test_half_a_channel_is_refused_with_the_missing_setting_named():
    done = command({"WHATSAPP_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1"}, "check")
    assert done.returncode == 2 and "META_APP_SECRET, META_VERIFY_TOKEN are not" in done.stderr


def test_the_telegram_webhook_is_registered_with_the_secret_token():
    with FakeTelegramApi() as telegram:
        done = command(telegram.env(), "telegram-webhook", "https://chat.shop.example/")
        assert done.returncode == 0, done.stderr
        assert telegram.webhook["url"] == "https://chat.shop.example/webhooks/telegram/webhook"
        assert telegram.webhook_secret == telegram.env()["TELEGRAM_SECRET_TOKEN"]
        refused = command(telegram.env(), "telegram-webhook", "http://chat.shop.example")
    assert refused.returncode == 2 and "https" in refused.stderr
