"""Answers to the shop's frequent questions, rendered from shop.yml at answer time.

A policy change in shop.yml needs a restart, not a retrain: the model only picks the intent.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.replies import Reply, ShopReplyAction, as_if_tapped
from actions.services.day_hours import hours_on_asked_days
from actions.services.intent_labels import INTENT_LABELS
from actions.services.opening_hours import (
    describe_status,
    opening_status,
    upcoming_holidays,
    weekly_schedule,
)
from actions.services.questions import looks_like_question
from actions.services.shop_profile import ShopProfile

Answer = Callable[[ShopProfile, dt.datetime], Reply]


def _opening_hours(shop: ShopProfile, now: dt.datetime, asked: str = "") -> Reply:
    """The hours of the day(s) the message names ("open tomorow?", "christmas eve?"); else open now?"""
    for_days = hours_on_asked_days(shop, asked, now) if asked else None
    if for_days:
        return Reply.with_topics(for_days, ["store_location", "contact_info"])
    lines = [describe_status(shop, opening_status(shop, now)), f"Our hours: {weekly_schedule(shop)}."]
    holidays = upcoming_holidays(shop, now)
    if holidays:
        lines.append(f"Coming up: {holidays}.")
    return Reply.with_topics("\n".join(lines), ["store_location", "contact_info"])


def _contact_info(shop: ShopProfile, now: dt.datetime) -> Reply:
    # "What hours can I call you?" is a contact question too: the hours come with the number.
    status = describe_status(shop, opening_status(shop, now))
    return Reply.with_topics(
        f"You can reach {shop.name} by email at {shop.email} or by phone on {shop.phone}. "
        f"We reply to emails {shop.reply_time}.\n{status} Phone hours: {weekly_schedule(shop)}.",
        ["opening_hours", "store_location"],
    )


def _store_location(shop: ShopProfile, now: dt.datetime) -> Reply:
    text = f"You'll find us at {shop.address}."
    if shop.directions:
        text += f" {shop.directions}"
    if shop.map_url:
        text += f"\nMap: {shop.map_url}"
    return Reply.with_topics(text, ["opening_hours"])


def _shipping_lines(shop: ShopProfile) -> str:
    lines = []
    for option in shop.shipping_options:
        price = "free" if option.price == 0 else shop.money(option.price)
        lines.append(f"• {option.name}: {price}, {_days(option.days_min, option.days_max)}")
    return "\n".join(lines)


def _days(fewest: int, most: int) -> str:
    if most == 0:
        return "same day"
    if fewest == most:
        return f"{most} working day{'s' if most != 1 else ''}"
    return f"{fewest}–{most} working days"


def _where_we_deliver(shop: ShopProfile) -> str:
    """Said plainly, so that "can I order from Japan?" or "do you ship to Cork?" reads as a no."""
    countries = list(shop.shipping_countries)
    if len(countries) == 1:
        return f"We deliver to {countries[0]} addresses only"
    return f"We deliver to addresses in {', '.join(countries[:-1])} and {countries[-1]} only"


def _shipping_options(shop: ShopProfile, now: dt.datetime) -> Reply:
    text = f"{_where_we_deliver(shop)}:\n{_shipping_lines(shop)}"
    if shop.free_shipping_over:
        text += f"\nStandard delivery is free on orders over {shop.money(shop.free_shipping_over)}."
    return Reply.with_topics(text, ["delivery_time", "order_status"])


def _delivery_time(shop: ShopProfile, now: dt.datetime) -> Reply:
    text = (f"{_where_we_deliver(shop)}. How long it takes depends on the "
            f"option you choose at checkout:\n{_shipping_lines(shop)}")
    if shop.dispatch:
        text += f"\n{shop.dispatch}"
    text += "\nAlready ordered? Tap \"Where is my order?\" and I'll check where yours is."
    return Reply.with_topics(text, ["shipping_options", "order_status"])


def _payment_methods(shop: ShopProfile, now: dt.datetime) -> Reply:
    methods = list(shop.payment_methods)
    listed = ", ".join(methods[:-1]) + f" and {methods[-1]}" if len(methods) > 1 else methods[0]
    return Reply.with_topics(f"We accept {listed}.", ["payment_issue", "place_order"])


def _refund_policy(shop: ShopProfile, now: dt.datetime) -> Reply:
    return Reply.with_topics(
        f"You can return items within {shop.return_window_days} days of delivery. "
        f"{shop.return_conditions}\nHow: {shop.return_instructions}\n"
        f"Refunds are made within {shop.refund_processing_days} working days of the return arriving. "
        f"{shop.refund_method} {shop.refund_damaged_or_wrong}",
        ["return_item", "refund_status"],
    )


def _cancellation_fee(shop: ShopProfile, now: dt.datetime) -> Reply:
    fee = ("There is no fee for cancelling." if shop.cancellation_fee == 0
           else f"Cancelling costs {shop.money(shop.cancellation_fee)}.")
    return Reply.with_topics(f"{fee} {shop.cancellation_policy}", ["cancel_order", "refund_policy"])


def _account_help(shop: ShopProfile, now: dt.datetime) -> Reply:
    return Reply.with_topics(
        f"{shop.account}\nStill stuck? Email {shop.email} and we'll sort it out.", ["contact_info"]
    )


def _newsletter(shop: ShopProfile, now: dt.datetime) -> Reply:
    return Reply(shop.newsletter)


def _place_order(shop: ShopProfile, now: dt.datetime) -> Reply:
    # "Can I order from Japan?" is often asked as how to order: where we deliver answers the real question.
    return Reply.with_topics(f"{shop.how_to_order}\n{_where_we_deliver(shop)}.",
                             ["shipping_options", "payment_methods"])


def _invoice(shop: ShopProfile, now: dt.datetime) -> Reply:
    return Reply(f"{shop.invoices} ({shop.email})")


FAQ_ANSWERS: Dict[str, Answer] = {
    "opening_hours": _opening_hours,
    "contact_info": _contact_info,
    "store_location": _store_location,
    "shipping_options": _shipping_options,
    "delivery_time": _delivery_time,
    "payment_methods": _payment_methods,
    "refund_policy": _refund_policy,
    "cancellation_fee": _cancellation_fee,
    "account_help": _account_help,
    "newsletter": _newsletter,
    "place_order": _place_order,
    "invoice": _invoice,
}


# Slots whose question asks for the customer's own words: a statement typed there is the answer.
FREE_TEXT_SLOTS = ("order_details", "order_reason", "complaint_text")


def words_for_the_form(tracker: Tracker) -> Optional[Tuple[str, str]]:
    """(slot, text) when a form waits for words and this message is a statement, not a question."""
    requested = tracker.get_slot("requested_slot")
    text = " ".join(str(tracker.latest_message.get("text") or "").split())
    if not (tracker.active_loop or {}).get("name") or requested not in FREE_TEXT_SLOTS or not text \
            or text.startswith("/") or looks_like_question(text):
        return None
    return requested, text


def also_asked(tracker: Tracker, main: str) -> List[str]:
    """Further requests the NLU found in the same message ("… and how long does it take?")."""
    found = tracker.latest_message.get("also_asked") or []
    return [intent for intent in dict.fromkeys(found) if isinstance(intent, str) and intent != main]


def answered_together(topics: List[str]) -> List[str]:
    """The topics to answer, less one whose answer another already gives: the shipping options list each
    option's days, so "how much is shipping and how long does it take?" needs that answer only once."""
    if "shipping_options" in topics and "delivery_time" in topics:
        topics = [topic for topic in topics if topic != "delivery_time"]
    return topics


# Words that point at one delivery ("when will it arrive?", "how long until my parcel comes?"), not at how
# long delivery takes in general ("how long does delivery take?").
_ONE_DELIVERY = re.compile(r"\b(it|its|it's|they|them|mine|the (order|parcel|package|box)|"
                           r"my (order|parcel|package|delivery|box|stuff|items?|coffee|tea|beans))\b",
                           re.IGNORECASE)


# Delivery named in general ("how long does delivery take and how much does it cost?"): then "it" is the
# delivery, not the customer's parcel. "my delivery" and "the delivery" stay one delivery.
_DELIVERY_IN_GENERAL = re.compile(r"(?<!\bmy )(?<!\bthe )\b(delivery|deliveries|shipping|postage)\b",
                                  re.IGNORECASE)


def asks_about_one_delivery(text: str) -> bool:
    return bool(_ONE_DELIVERY.search(text)) and not _DELIVERY_IN_GENERAL.search(text)


class ActionAnswerFaq(ShopReplyAction):
    """Answers every FAQ intent; rules map each of them here."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        answer = words_for_the_form(tracker)
        if answer:  # "5 Park Street, Bath" when the new address was asked is the address, not a question
            return [SlotSet(answer[0], answer[1])]
        asked = tracker.latest_message.get("text") or ""
        checked = tracker.get_slot("verified_order")
        if intent == "delivery_time" and checked and asks_about_one_delivery(asked):
            # "when will it arrive?" after the order was checked: that order's date, not our delivery times.
            # The order flow proves the order again before it shows anything.
            return as_if_tapped(tracker, "order_status")
        for topic in answered_together([intent, *also_asked(tracker, intent)]):
            self.answer(topic, asked).send(dispatcher)
        return []

    def answer(self, intent: str, asked: str) -> Reply:
        if intent == "opening_hours":
            # The hours depend on the day asked about, so this answer reads the customer's words too.
            return _opening_hours(self.shop, self.now(), asked)
        if intent in FAQ_ANSWERS or intent not in INTENT_LABELS:
            return self.reply(intent, self.shop, self.now())
        # A task asked beside the question ("… and cancel my order"): one tap starts it.
        return Reply.with_topics(f"You also asked about this: {INTENT_LABELS[intent]}. Tap below when "
                                 "you're ready and I'll help with it.", [intent])

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        answer = FAQ_ANSWERS.get(intent)
        if answer is None:  # reached through a story the rules did not foresee
            return Reply.with_topics("Here's what I can help with:", list(FAQ_ANSWERS)[:5])
        return answer(shop, now)
