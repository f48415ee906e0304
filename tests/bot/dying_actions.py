"""The shop's actions with action_help ending the action server's process mid-call, for the fault test of
issue 13 (tests/bot/test_overload.py): the web server's call to the action server fails on the way."""
from __future__ import annotations

import importlib
import os
import pkgutil
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions.conversation import ActionHelp

for module in pkgutil.iter_modules(actions.__path__):  # every real action, as `--actions actions` has
    importlib.import_module(f"actions.{module.name}")


class DyingHelp(ActionHelp):
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List:
        os._exit(3)  # the process is gone before it answers: the connection closes mid-call
