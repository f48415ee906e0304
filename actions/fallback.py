"""The two-stage fallback's words: "Did you mean …?" with readable choices, then a way to a person."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.replies import INTENT_LABELS, intent_button
from actions.services.recovery import contact_sentence
from actions.shop import ShopAware

_NOT_CANDIDATES = {"nlu_fallback", "out_of_scope", "affirm", "deny"}
MAX_SUGGESTIONS = 3


class ActionAskAffirmation(Action):
    """Overrides Rasa's default, which shows the raw intent name."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [
            entry["name"] for entry in ranking
            if entry.get("name") in INTENT_LABELS and entry["name"] not in _NOT_CANDIDATES
        ][:MAX_SUGGESTIONS]
        buttons = [intent_button(intent) for intent in candidates]
        buttons.append({"title": "Something else", "payload": "/out_of_scope"})
        dispatcher.utter_message(
            text="Sorry, I'm not sure I understood. Did you mean one of these?", buttons=buttons
        )
        return []


class ActionDefaultFallback(ShopAware, Action):
    """The second failure in a row: stop guessing and show the way to a person."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(
            text="I'm sorry, I still can't work out what you need, and I don't want to guess. "
                 + contact_sentence(self.shop, self.now()),
            buttons=[intent_button("human_handoff"), intent_button("help")],
        )
        return [UserUtteranceReverted()]


class ActionAskRephrase(Action):
    """After "Something else": ask for other words, with an example of what works."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(
            text='Could you say that in other words? For example: "when are you open?" or '
                 '"how much is delivery?"'
        )
        return []
