"""The shop's actions, with action_finish_order_task stalling *after* its write when a flag file exists:
the write is committed, and the web server is still waiting for the answer when the test kills it
(tests/bot/test_killed_mid_turn.py). The flag goes at the first stall, so the next call runs as usual."""
from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
from pathlib import Path
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions.order_answers import ActionFinishOrderTask

for module in pkgutil.iter_modules(actions.__path__):  # every real action, as `--actions actions` has
    importlib.import_module(f"actions.{module.name}")


class StallingFinishOrderTask(ActionFinishOrderTask):
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List:
        events = await super().run(dispatcher, tracker, domain)
        flag = Path(os.environ["STALL_FLAG"])
        if flag.exists():
            flag.unlink()
            await asyncio.sleep(60)  # the test kills the web server meanwhile
        return events
