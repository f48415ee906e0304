"""A bot reply (text plus quick-reply buttons) and the base class of actions that answer with one.
The words for intents on buttons live in actions/services/intent_labels.py (the web server uses them too)."""
from __future__ import annotations

import abc
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
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


_BUTTON_PAYLOAD = re.compile(r"/(\w+)(\{.*\})?", re.DOTALL)


@dataclass(frozen=True)
class Tapped:
    """A button's payload read back: its intent and the entities it carries (``/order_status{"order_id":
    "KC-10003"}``)."""

    intent: str
    entities: Tuple[Tuple[str, str], ...] = ()


def _payload(payload: str) -> Optional[Tapped]:
    found = _BUTTON_PAYLOAD.fullmatch(payload)
    if not found:
        return None
    try:
        values = json.loads(found.group(2)) if found.group(2) else {}
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return Tapped(found.group(1), tuple((str(k), str(v)) for k, v in values.items() if isinstance(v, str)))


def yes_button_intent(tracker: Tracker) -> Optional[Tapped]:
    """The "Yes, …" button on the question the customer just answered, when that button asks for more than a
    plain yes ("Yes, open a case" sends /missing_item). None for any other question."""
    answered = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if answered:
                return None  # the customer said something else in between
            answered = True
        elif kind == "bot" and answered:
            for button in (event.get("data") or {}).get("buttons") or []:
                title, payload = str(button.get("title", "")), str(button.get("payload", ""))
                tapped = _payload(payload)
                if re.match(r"yes\b", title, re.IGNORECASE) and tapped and tapped.intent != "affirm":
                    return tapped
            return None
    return None


def as_if_tapped(tracker: Tracker, tapped: "Tapped | str") -> List[Dict[str, Any]]:
    """The customer's typed yes again, read as the button's intent and entities: the policies predict from
    it as if the button had been tapped (Rasa's two-stage fallback clarifies a message the same way), and
    the entities fill their slots. The message keeps its id, so a resent yes does not do twice what it
    asked."""
    tapped = Tapped(tapped) if isinstance(tapped, str) else tapped
    latest = tracker.latest_message or {}
    entities = [{"entity": name, "value": value} for name, value in tapped.entities]
    parse_data = {"text": latest.get("text"), "intent": {"name": tapped.intent, "confidence": 1.0},
                  "intent_ranking": [{"name": tapped.intent, "confidence": 1.0}], "entities": entities}
    return [{"event": "action", "name": "action_listen"},
            {"event": "user", "text": latest.get("text"), "parse_data": parse_data,
             "input_channel": tracker.get_latest_input_channel(), "message_id": latest.get("message_id"),
             "metadata": latest.get("metadata") or {}},
            *(SlotSet(name, value) for name, value in tapped.entities if name in _SLOTS_FROM_BUTTONS)]


def order_button(title: str, intent: str, number: str) -> Dict[str, str]:
    """A quick reply that sends ``intent`` with this order number (filling order_id, no NLU guessing)."""
    return {"title": title, "payload": f"/{intent}" + json.dumps({"order_id": number})}


_SLOTS_FROM_BUTTONS = ("order_id",)  # entities a "Yes, …" button may carry, each filling its own slot


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
