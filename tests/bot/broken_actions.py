"""The shop's actions with two of them broken on purpose, for the test that forces an exception inside an
action (tests/bot/test_forced_failure.py). The action server registers every Action subclass it has
imported; a subclass is registered after its parent, so these replace the real ones under the same names."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions.conversation import ActionHelp
from actions.feedback import ValidateFeedbackForm

for module in pkgutil.iter_modules(actions.__path__):  # every real action, as `--actions actions` has
    importlib.import_module(f"actions.{module.name}")


class BrokenHelp(ActionHelp):
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List:
        raise RuntimeError("help is broken on purpose")


class BrokenFeedbackForm(ValidateFeedbackForm):
    def validate_csat_score(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: Dict[str, Any]) -> Dict[str, Any]:
        raise ZeroDivisionError("the rating is broken on purpose")
