"""A bot reply (text plus quick-reply buttons) and the base class of actions that answer with one.
The words for intents on buttons live in actions/services/intent_labels.py (the web server uses them too)."""
from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services.intent_labels import INTENT_LABELS, MAIN_TOPICS, intent_button  # noqa: F401
from actions.services.shop_profile import ShopProfile
from actions.shop import ShopAware


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: Tuple[Dict[str, str], ...] = field(default=())

    @classmethod
    def with_topics(cls, text: str, intents: Sequence[str]) -> "Reply":
        return cls(text, tuple(intent_button(i) for i in intents))

    def send(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(text=self.text, buttons=list(self.buttons))


def answered_inside_a_flow(tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    """A bare "no" to a flow's question ("What's the order number?"): the flow asks again right after, so
    an answer that sounds like the end ("Alright, if you think of anything…") would contradict it. Say how
    to leave instead; True when that was said."""
    if not (tracker.active_loop or {}).get("name"):
        return False
    dispatcher.utter_message(text='No problem. If you\'d rather leave this, just say "never mind".')
    return True


class ShopReplyAction(ShopAware, Action, metaclass=abc.ABCMeta):
    """An action whose whole job is to send one reply rendered from shop.yml for the latest intent.

    Abstract, so rasa-sdk does not register it; subclasses name themselves and say what to answer.
    """

    @abc.abstractmethod
    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        """The reply to a message classified as ``intent``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        self.reply(intent, self.shop, self.now()).send(dispatcher)
        return []


class FixedQuestion(Action, metaclass=abc.ABCMeta):
    """A form's question that is always the same words: set ``action`` and ``text`` in the subclass.

    Abstract, so rasa_sdk does not register the base itself as an action."""

    action = ""
    buttons: Sequence[Dict[str, str]] = ()

    @property
    @abc.abstractmethod
    def text(self) -> str:
        """The question."""

    def name(self) -> str:
        return self.action

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text=self.text, buttons=list(self.buttons))
        return []
