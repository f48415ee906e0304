"""A bot reply (text plus quick-reply buttons), the base class of actions that answer with one,
and the human-readable names of intents used on buttons."""
from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services.shop_profile import ShopProfile
from actions.shop import ShopAware

# What a customer reads on a button that stands for an intent.
INTENT_LABELS: Dict[str, str] = {
    "order_status": "Where is my order?",
    "cancel_order": "Cancel an order",
    "change_order": "Change an order",
    "change_shipping_address": "Change delivery address",
    "place_order": "How to order",
    "delivery_time": "Delivery times",
    "shipping_options": "Shipping options",
    "cancellation_fee": "Cancellation fee",
    "return_item": "Return an item",
    "request_refund": "Get a refund",
    "refund_status": "Where is my refund?",
    "refund_policy": "Returns & refunds policy",
    "damaged_item": "Item arrived damaged",
    "wrong_item": "Received the wrong item",
    "missing_item": "Something is missing",
    "payment_issue": "Payment problem",
    "payment_methods": "Payment methods",
    "invoice": "Invoice or receipt",
    "account_help": "Account help",
    "newsletter": "Newsletter",
    "opening_hours": "Opening hours",
    "contact_info": "Contact details",
    "store_location": "Where is the shop?",
    "complaint": "Make a complaint",
    "human_handoff": "Talk to a person",
    "give_feedback": "Leave feedback",
    "help": "What can you do?",
    "greet": "Say hello",
    "goodbye": "Say goodbye",
    "thank_you": "Say thanks",
    "bot_challenge": "Am I talking to a bot?",
    "affirm": "Yes",
    "deny": "No",
}

MAIN_TOPICS = ("order_status", "opening_hours", "shipping_options", "refund_policy", "contact_info")


def intent_button(intent: str) -> Dict[str, str]:
    return {"title": INTENT_LABELS.get(intent, intent.replace("_", " ").capitalize()),
            "payload": f"/{intent}"}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: Tuple[Dict[str, str], ...] = field(default=())

    @classmethod
    def with_topics(cls, text: str, intents: Sequence[str]) -> "Reply":
        return cls(text, tuple(intent_button(i) for i in intents))

    def send(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(text=self.text, buttons=list(self.buttons))


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
