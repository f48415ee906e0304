"""The order form's questions: one ``action_ask_<slot>`` per slot, worded for the task at hand."""
from __future__ import annotations

import abc
import json
from typing import Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.replies import Reply, order_button
from actions.services.customers.memory import ShownOrder
from actions.services.order_rules import Order
from actions.shop import OrderAware

REMEDY_LABELS = {"replacement": "Send a replacement", "refund": "Refund me", "person": "Talk to a person"}
RETURN_REASONS = ("No longer needed", "Not what I expected", "Arrived too late", "Something else")


def choice_button(title: str, value: Optional[str] = None) -> Dict[str, str]:
    """A quick reply that fills the slot being asked with exactly ``value`` (no NLU guessing)."""
    return {"title": title, "payload": "/inform" + json.dumps({"choice": value or title})}


class OrderQuestion(OrderAware, Action, metaclass=abc.ABCMeta):
    """Asks for one slot of order_form; knows the task and, once verified, the order."""

    slot: str = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abc.abstractmethod
    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        """What to ask for ``task`` about ``order`` (None before verification)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        order = self.proved_order(tracker)
        reply = self.question(tracker.get_slot("order_task") or "order_status", order, tracker)
        if any(e.get("entity") == "photo" for e in tracker.latest_message.get("entities", [])):
            reply = Reply(f"Thank you, I've got the photo. {reply.text}", reply.buttons)
        reply.send(dispatcher)
        return []


class AskOrderId(OrderQuestion):
    slot = "order_id"

    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        noted = "Thanks, I've noted your email or phone. " if tracker.get_slot("order_contact") else ""
        shown = ShownOrder.from_slot(tracker.get_slot("shown_order"))
        if shown is not None:  # the order this browser looked at last time: one tap, not a search for it
            return Reply(f"{noted}What's the order number? Is it {shown.number}, the one you asked about "
                         "last time? Tap it, or type another (it's in your order confirmation email).",
                         (order_button(shown.number, "inform", shown.number),))
        return Reply(f"{noted}What's the order number? It looks like {self.shop.order_number.example} and "
                     f"is in your order confirmation email.")


class AskOrderContact(OrderQuestion):
    slot = "order_contact"

    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        return Reply("And the email address or phone number on that order? I check both, so that nobody "
                     "else can see or change your order.")


class AskOrderDetails(OrderQuestion):
    slot = "order_details"

    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        products = [line.product for line in order.lines] if order else []
        if task == "change_shipping_address":
            return Reply("What's the new delivery address, with the postcode?")
        if task == "change_order":
            items = order.items_text() if order else ""
            return Reply(f"What would you like to change? Your order has: {items}. Tell me the item and the "
                         f"new quantity, size or colour.")
        if task == "missing_item":
            return Reply("Which item is missing?",
                         tuple(choice_button(p) for p in products) + (choice_button("The whole parcel"),))
        question = {"damaged_item": "Which item arrived damaged?", "wrong_item": "Which item was wrong?"}.get(
            task, "Which item would you like to return?")
        buttons = tuple(choice_button(p) for p in products)
        if len(products) > 1:
            buttons += (choice_button("All of them", "all items"),)
        return Reply(question, buttons)


class AskOrderReason(OrderQuestion):
    slot = "order_reason"

    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        has_photo = bool(tracker.get_slot("order_photo"))
        photo = "" if has_photo else " You can also attach a photo with the paperclip button."
        if task == "damaged_item":
            return Reply(f"I'm sorry about that. Please describe the damage in a few words.{photo}")
        if task == "wrong_item":
            return Reply(f"Sorry for the mix-up. What did you receive instead?{photo}")
        if task == "missing_item":
            return Reply("Sorry about that. Please tell me briefly what happened (for example, the box came "
                         "without the mug, or no parcel arrived).")
        return Reply("May I ask why? It helps the shop.", tuple(choice_button(r) for r in RETURN_REASONS))


class AskOrderConfirmed(OrderQuestion):
    slot = "order_confirmed"

    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        assert order is not None  # asked only after verification
        yes_no = ({"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"})
        if task == "cancel_order":
            fee = self.shop.cancellation_fee
            cost = (f"Cancelling costs {self.shop.money(fee)}, which is kept from your refund."
                    if fee else "There's no fee for cancelling.")
            return Reply(f"Shall I cancel order {order.number} ({order.items_text()}, "
                         f"{self.shop.money(float(order.total))})? {cost}",
                         ({"title": "Yes, cancel it", "payload": "/affirm"},
                          {"title": "No, keep it", "payload": "/deny"}))
        details = tracker.get_slot("order_details") or ""
        return Reply(f"To confirm: {_change_summary(task, order, details)} Shall I go ahead?", yes_no)


def _change_summary(task: str, order: Order, details: str) -> str:
    if task == "change_shipping_address":
        return f"deliver order {order.number} to {details} instead of {order.shipping_address}."
    return f"ask the team to change order {order.number}: {details}."


class AskOrderRemedy(OrderQuestion):
    slot = "order_remedy"

    def question(self, task: str, order: Optional[Order], tracker: Tracker) -> Reply:
        offers = [*self.shop.problem_remedies, "person"]
        return Reply(f"{self.shop.refund_damaged_or_wrong} What would you prefer?",
                     tuple(choice_button(REMEDY_LABELS[o], o) for o in offers))
