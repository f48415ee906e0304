"""Greeting, help, "are you a bot?", small talk and out-of-scope answers, in the shop's voice.

(Thanks and goodbye are in feedback.py: they may ask for a rating.)
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.feedback import UnaskedRating
from actions.replies import (
    MAIN_TOPICS,
    Reply,
    ShopReplyAction,
    answered_inside_a_flow,
    as_if_tapped,
    order_button,
    yes_button_intent,
)
from actions.services.customers.memory import ShownOrder
from actions.services.order_rules import local_date
from actions.services.shop_profile import ShopProfile

# Orders and products first: they are what customers come with most, and the list said neither.
_CAN_DO = (
    "I can check, cancel or change your order, start a return or a complaint, tell you about our "
    "products, prices and stock, our opening hours, where to find us and how to reach us, and explain "
    "delivery, payments, invoices, refunds, your account and the newsletter."
)


def said_something_in_this_chat(tracker: Tracker) -> bool:
    """Whether the bot spoke since the chat (the session) began: the tracker may still hold earlier chats."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        if event.get("event") == "bot":
            return True
    return False


class ActionGreet(ShopReplyAction):
    """The shop's greeting; in a later chat on the same browser, a welcome back, with the order the earlier
    chat showed, as it was then (actions/services/customers/memory.py): one tap, or a typed yes, checks it
    again, and only the email or phone is asked (the new chat has not proved it yet)."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        greeted = said_something_in_this_chat(tracker)  # "hi" again in the same chat
        if tracker.get_slot("returning_visitor") and not greeted:
            self.welcome_back(ShownOrder.from_slot(tracker.get_slot("shown_order"))).send(dispatcher)
            return []
        return await super().run(dispatcher, tracker, domain)

    def welcome_back(self, shown: Optional[ShownOrder]) -> Reply:
        if shown is None:
            return Reply.with_topics("Welcome back! What can I help you with today?", MAIN_TOPICS)
        return Reply(shown.welcome(local_date(self.now(), self.shop)),
                     (order_button("Yes, that order", shown.task, shown.number),
                      {"title": "Something else", "payload": "/help"}))

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        return Reply.with_topics(f"{shop.greeting}\nWhat can I help you with?", MAIN_TOPICS)


class ActionHelp(ShopReplyAction):
    def name(self) -> str:
        return "action_help"

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        return Reply.with_topics(
            f"{_CAN_DO} For anything else I'll give you the way to reach a person at {shop.name}. "
            "Just type your question, or pick a topic:",
            MAIN_TOPICS,
        )


class ActionBotChallenge(ShopReplyAction):
    def name(self) -> str:
        return "action_bot_challenge"

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        return Reply.with_topics(
            f"Yes, I'm {shop.name}'s virtual assistant, a bot. The people behind the shop read every "
            f"message sent to {shop.email} and reply {shop.reply_time}.",
            ["contact_info", "help"],
        )


# On WhatsApp and Telegram a message is often one emoji. The model hears laughter in any of them; only these
# (or some words) are laughter or a smile.
_LAUGHING = set("😂🤣😆😄😁😀😃😅😹🙂😊😉😸😺")


def laughs(text: str) -> bool:
    """Whether a message the model took for laughter is: it has words ("lol", "haha"), or a laughing face."""
    return any(ch.isalpha() for ch in text) or any(ch in _LAUGHING for ch in text)


class ActionSmallTalk(UnaskedRating, ShopReplyAction):
    """"How are you?", "you're useless", "lol": a short human answer that leads back to the shop.

    An insult usually means the bot has failed the customer, so it gets an apology and a person, one tap
    away, rather than a complaint form."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = str(tracker.latest_message.get("text") or "")
        if intent == "laugh" and (rated := self.took_unasked_rating(dispatcher, tracker)) is not None:
            return rated  # "⭐⭐⭐⭐⭐" reads as laughter
        if intent == "laugh" and not laughs(text):  # "😡", "🙏", "👎" read as laughter: don't smile back
            Reply.with_topics("I'm not sure what you mean by that. What can I help you with?",
                              MAIN_TOPICS).send(dispatcher)
            return []
        return await super().run(dispatcher, tracker, domain)

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        if intent == "bot_insult":
            return Reply.with_topics(
                "Sorry I haven't been much help. If you'd rather sort this out with a person from "
                f"{shop.name}, tap below; or tell me again in other words and I'll do my best.",
                ["human_handoff", "help"],
            )
        if intent == "laugh":
            return Reply.with_topics("Glad that made you smile! Anything else I can help you with?",
                                     MAIN_TOPICS)
        return Reply.with_topics(
            f"I'm doing well, thanks for asking! I'm here to help with anything about {shop.name}. "
            "What can I do for you?",
            MAIN_TOPICS,
        )


class ActionOutOfScope(UnaskedRating, ShopReplyAction):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        rated = self.took_unasked_rating(dispatcher, tracker)  # "★★★★★" reads as out of scope
        return rated if rated is not None else await super().run(dispatcher, tracker, domain)

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        return Reply.with_topics(
            f"Sorry, that's not something I can help with: I only know about {shop.name}. {_CAN_DO}",
            MAIN_TOPICS,
        )


class ActionAnythingElse(UnaskedRating, ShopReplyAction):
    """After a bare yes, "never mind" or an answer that answers nothing in particular ("five stars" is the
    chat's rating)."""

    def name(self) -> str:
        return "action_anything_else"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if intent == "deny" and answered_inside_a_flow(tracker, dispatcher):
            return []
        if intent == "affirm" and (tapped := yes_button_intent(tracker)):
            return as_if_tapped(tracker, tapped)  # typed "yes" to "Shall I open a case…?": as the button
        if intent == "inform" and (rated := self.took_unasked_rating(dispatcher, tracker)) is not None:
            return rated
        return await super().run(dispatcher, tracker, domain)

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        if intent in ("deny", "stop"):
            return Reply("Alright. If you think of anything, just type it here.")
        if intent == "inform":  # an answer, but no question of ours was open
            return Reply.with_topics("Thanks, but I'm not sure what that's for. What would you like to do?",
                                     MAIN_TOPICS)
        return Reply.with_topics("Great. What else can I do for you?", MAIN_TOPICS)

