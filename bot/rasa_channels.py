"""Rasa's input channels for the web server, without importing the fifteen it does not serve (issue 16).

``rasa.core.channels`` imports every built-in channel when any of its modules is imported (its
``__init__``), and with them their SDKs: aiogram (Telegram), webexteamssdk, slack_sdk, fbmessenger,
twilio, questionary (the console). The web server serves ours (``bot/channels``); those SDKs took 17 MB
at import, 10-11 MB of the running server's resident memory. ``defer_builtin_channels`` puts the
package in place without running its ``__init__``: its modules import as usual, its names come from
``channel.py`` (``UserMessage`` ...), and the first use of any other name (``BUILTIN_CHANNELS``, a channel
class) runs the real ``__init__`` then.
``channels_from_credentials`` is Rasa's ``create_http_input_channels`` without ``rasa.core.run`` (which
imports the console channel): a class path is imported, a built-in name loads the built-ins.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List

PACKAGE = "rasa.core.channels"
FROM_CHANNEL_PY = ("InputChannel", "OutputChannel", "UserMessage", "CollectingOutputChannel")


def defer_builtin_channels() -> bool:
    """Before Rasa is imported: the channel package without its ``__init__``; False if already imported."""
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        return False
    package = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            return importlib.import_module(f"{PACKAGE}.{name}")  # a module of the package
        if name in FROM_CHANNEL_PY:
            return getattr(importlib.import_module(f"{PACKAGE}.channel"), name)
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)  # type: ignore[union-attr]  # every built-in channel, now
        return getattr(package, name)

    package.__dict__["__getattr__"] = __getattr__
    sys.modules[PACKAGE] = package
    return True


def channels_from_credentials(credentials_file: Path) -> List[Any]:
    """The input channels credentials.yml lists, made from their credentials."""
    import rasa.shared.utils.common
    import rasa.shared.utils.io
    from rasa.shared.exceptions import RasaException

    listed: Dict[str, Any] = rasa.shared.utils.io.read_config_file(str(credentials_file)) or {}
    channels = []
    for name, credentials in listed.items():
        if "." in name:
            try:
                channel_class = rasa.shared.utils.common.class_from_module_path(name)
            except (AttributeError, ImportError) as error:
                raise RasaException(f"Failed to find input channel class for '{name}' ({error}); check "
                                    f"{credentials_file}") from None
        else:
            builtin: ModuleType = importlib.import_module(PACKAGE)
            if name not in builtin.BUILTIN_CHANNELS:
                raise RasaException(f"Unknown input channel '{name}' in {credentials_file}")
            channel_class = builtin.BUILTIN_CHANNELS[name]
        channels.append(channel_class.from_credentials(credentials))
    return channels
