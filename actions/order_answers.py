"""The end of an order flow: do what the customer confirmed (committed first), then say so.

Every write goes through OrderService, which re-checks the rule on the stored order and commits with
an audit row before this action sends a word, so a confirmation is never ahead of the database.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from typing import Callable, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import PersonRouting
from actions.order_flow import LIMITED, PROBLEM_TASKS, TASK_SLOTS, TASK_WORDS, checks_refused
from actions.replies import MAIN_TOPICS, Reply, intent_button
from actions.services.case_alerts import console_url_from, tell_owner_about_case
from actions.services.cases import CaseBook
from actions.services.customers.memory import ShownOrder, first_name
from actions.services.order_rules import (
    STATUS_WORDS,
    Order,
    can_cancel,
    can_change,
    can_return,
    expected_delivery,
    is_late,
    local_date,
)
from actions.services.recovery import contact_sentence

CATEGORIES = {"damaged_item": "damaged", "wrong_item": "wrong", "missing_item": "missing"}
_PHOTO = re.compile(r"^([0-9a-f]{32})/[0-9a-f]{32}\.(jpg|png|gif|webp)$")


def own_photo(photo: str | None, conversation_id: str) -> str | None:
    """The uploaded photo's path under the upload folder, if it was uploaded in this conversation."""
    match = _PHOTO.match(photo or "")
    return photo if match and match.group(1) == conversation_id else None


def day(date: dt.date) -> str:
    return f"{date:%A} {date.day} {date:%B}"


class ActionFinishOrderTask(PersonRouting, Action):
    def name(self) -> str:
        return "action_finish_order_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        task = tracker.get_slot("order_task") or "order_status"
        order = self.proved_order(tracker)
        locked = tracker.get_slot("verification_locked") or self.orders.is_locked(tracker.sender_id)
        if order is None and not locked and checks_refused(self.check_limits, tracker):
            reply = Reply(LIMITED.format(contact=contact_sentence(self.shop, self.now())),
                          (intent_button("human_handoff"),))
        elif order is None and not locked:  # left without an order number (not_pursued)
            what, example = TASK_WORDS.get(task, "order lookup"), self.shop.order_number.example
            reply = Reply.with_topics(f"I've left the {what} for now. Whenever you want me to look at an "
                                      f"order, just tell me its number (like {example}).", MAIN_TOPICS)
        elif order is None or locked:
            reply = Reply(f"I can't look up orders in this conversation any more. A person can check it "
                          f"for you: {contact_sentence(self.shop, self.now())}",
                          (intent_button("human_handoff"),))
        else:
            reply = self._answers()[task](order, tracker)
        reply.send(dispatcher)
        events = [SlotSet(slot, None) for slot in ("order_task", *TASK_SLOTS)]
        if order is not None and not locked:
            events.append(SlotSet("shown_order", self.shown(order, task).to_slot()))
        return events

    def shown(self, order: Order, task: str) -> ShownOrder:
        """The order as this chat has just shown it (after the task's change, if it made one): what a later
        chat on this browser may mention in its welcome back."""
        order = self.orders.get(order.number) or order
        shipment = order.shipment
        moment = {"shipped": shipment.shipped_at if shipment else None,
                  "delivered": shipment.delivered_at if shipment else None,
                  "paid": order.placed_at, "packed": order.placed_at}.get(order.status)
        topic = "refund" if task in ("refund_status", "request_refund") and order.refunds else "order"
        return ShownOrder(order.number, order.status, local_date(moment, self.shop) if moment else None,
                          first_name(order.customer_name), topic)

    def _answers(self) -> Dict[str, Callable[[Order, Tracker], Reply]]:
        return {
            "order_status": self.status, "cancel_order": self.cancel, "change_order": self.change,
            "change_shipping_address": self.change, "return_item": self.return_item,
            "request_refund": self.return_item, "refund_status": self.refund_status,
            **{task: self.problem for task in PROBLEM_TASKS},
        }

    def _tell_owner_about_case(self, case_number: str) -> None:
        """Email the owner about a case just committed; a failure is logged, the case stays."""
        tell_owner_about_case(CaseBook(self.orders.engine, self._clock), self.mailer, self.shop, case_number,
                              console_url_from(os.environ))

    def _person(self) -> str:
        return f"A person can look at it: {contact_sentence(self.shop, self.now())}"

    # ---- where is it ----
    def status(self, order: Order, tracker: Tracker) -> Reply:
        now = self.now()
        parts = [f"Order {order.number} ({order.items_text()}) is {STATUS_WORDS[order.status]}."]
        shipment = order.shipment
        if shipment and order.status in ("shipped", "delivered"):
            track = shipment.tracking_url or shipment.tracking_number
            tracking = f"; tracking: {track}" if track else ""
            parts.append(f"It left us on {day(local_date(shipment.shipped_at, self.shop))} with "
                         f"{shipment.carrier or 'the courier'}{tracking}.")
        if order.status == "delivered" and shipment and shipment.delivered_at:
            parts.append(f"It was delivered on {day(local_date(shipment.delivered_at, self.shop))}.")
        expected = expected_delivery(order, self.shop)
        if is_late(order, self.shop, now) and expected:
            parts.append(f"I'm sorry: it should have arrived by {day(expected)}. Shall I open a case so the "
                         f"team can chase it with the courier?")
            return Reply(" ".join(parts), ({"title": "Yes, open a case", "payload": "/missing_item"},
                                           {"title": "No, I'll wait", "payload": "/deny"}))
        if expected and order.status != "delivered":
            parts.append(f"It should arrive by {day(expected)} ({order.shipping_option}).")
        follow_ups = {"paid": ["cancel_order", "change_shipping_address"], "packed": ["cancel_order"],
                      "delivered": ["return_item"], "refunded": ["refund_status"]}.get(order.status, [])
        return Reply.with_topics(" ".join(parts), follow_ups)

    # ---- cancel ----
    def cancel(self, order: Order, tracker: Tracker) -> Reply:
        if tracker.get_slot("order_confirmed") is not True:
            decision = can_cancel(order, self.shop)
            if not decision.allowed:
                return self._cannot_cancel(order, decision.reason)
            return Reply(f"OK, order {order.number} stays as it is.")
        # The rule is checked in the write, on the stored order; the same message again gets the same answer.
        result = self.orders.cancel(order.number, tracker.sender_id, self.message_id(tracker))
        if not result.done:
            return self._cannot_cancel(result.order, result.reason)
        if not result.again:
            self._tell_owner_about_case(result.reference)  # a case: the refund is the shop's to pay
        fee = self.shop.cancellation_fee
        refund = (f"We refund {self.shop.money(float(order.total) - fee)} (the total less the "
                  f"{self.shop.money(fee)} cancellation fee)" if fee else
                  f"We refund the full {self.shop.money(float(order.total))}")
        return Reply(f"Done: order {order.number} is cancelled. {refund}. {self.shop.refund_method} It takes "
                     f"up to {self.shop.refund_processing_days} working days.")

    def _cannot_cancel(self, order: Order, reason: str) -> Reply:
        if reason.startswith("already_"):
            return Reply(f"Order {order.number} is already {reason.removeprefix('already_')}.")
        if reason == "packed":
            return Reply(f"Order {order.number} is already packed, so I can't cancel it here. "
                         f"{self.shop.cancellation_policy} {self._person()}")
        gone = "been delivered" if reason == "delivered" else "shipped"
        return Reply.with_topics(
            f"Order {order.number} has already {gone}, so "
            f"it can't be cancelled any more. You can return it within {self.shop.return_window_days} days "
            f"of delivery instead.", ["return_item"])

    # ---- change items or address ----
    def change(self, order: Order, tracker: Tracker) -> Reply:
        task = tracker.get_slot("order_task")
        if not can_change(order).allowed:
            return Reply.with_topics(
                f"Order {order.number} is already {order.status}, so it can't be changed here any more. "
                f"{self._person()}", ["human_handoff"])
        details = tracker.get_slot("order_details") or ""
        if tracker.get_slot("order_confirmed") is not True or not details:
            return Reply("OK, I haven't changed anything.")
        if task == "change_shipping_address":
            result = self.orders.change_address(order.number, details, tracker.sender_id,
                                                self.message_id(tracker))
            if result.done:
                return Reply(f"Done: order {order.number} will be delivered to {details}.")
        else:
            result = self.orders.request_item_change(order.number, details, tracker.sender_id,
                                                     self.message_id(tracker))
            if result.done:
                return Reply(f"I've passed your change to the team: \u201c{details}\u201d. They'll adjust "
                             f"order {order.number} before packing it and email you if the price changes or "
                             f"something is out of stock.")
        return Reply(f"Order {order.number} was {result.order.status} a moment ago, so I couldn't change it. "
                     f"{self._person()}")

    # ---- return or refund ----
    def return_item(self, order: Order, tracker: Tracker) -> Reply:
        refund = tracker.get_slot("order_task") == "request_refund"
        decision = can_return(order, self.shop, self.now())
        if decision.allowed:
            result = self.orders.record_return(order.number, tracker.get_slot("order_details") or "",
                                               tracker.get_slot("order_reason") or "", tracker.sender_id,
                                               refund=refund, message_id=self.message_id(tracker))
            if result.done:
                then = (f" Once it's back with us we refund it: {self.shop.refund_method} It takes up to "
                        f"{self.shop.refund_processing_days} working days." if refund else "")
                return Reply(f"I've recorded the return of {tracker.get_slot('order_details')} from order "
                             f"{order.number}. {self.shop.return_instructions}{then}")
            decision = can_return(result.order, self.shop, self.now())  # the order changed meanwhile
        if decision.reason == "window_passed" and decision.deadline:
            return Reply(f"The {self.shop.return_window_days}-day return window for order {order.number} "
                         f"ended on {day(decision.deadline)}, so I can't start a return here. "
                         f"{self._person()}")
        if decision.reason == "not_delivered":
            topics = ["cancel_order"] if can_cancel(order, self.shop).allowed else ["order_status"]
            return Reply.with_topics(f"Order {order.number} hasn't been delivered yet, so there's nothing to "
                                     f"return.", topics)
        return Reply(f"Order {order.number} is already {decision.reason.removeprefix('already_')}.")

    def refund_status(self, order: Order, tracker: Tracker) -> Reply:
        if not order.refunds:
            return Reply.with_topics(f"There's no refund on order {order.number}.", ["request_refund"])
        refund = order.refunds[-1]
        requested = day(local_date(refund.requested_at, self.shop))
        days = self.shop.refund_processing_days
        if refund.status == "paid" and refund.processed_at:
            amount = self.shop.money(float(refund.amount)) if refund.amount is not None else "your refund"
            return Reply(f"We refunded {amount} for order {order.number} on "
                         f"{day(local_date(refund.processed_at, self.shop))}. {self.shop.refund_method} It "
                         f"can take a few days to show on your statement.")
        if refund.status == "approved":
            return Reply(f"Your refund for order {order.number} is approved; it is paid within {days} "
                         f"working days of approval. {self.shop.refund_method}")
        if refund.status == "rejected":
            return Reply(f"The refund requested on {requested} for order {order.number} was declined. "
                         f"{self._person()}")
        return Reply(f"Your refund request for order {order.number} from {requested} is waiting for the team "
                     f"to approve it. Approved refunds are paid within {days} working days.")

    # ---- damaged, wrong or missing ----
    def problem(self, order: Order, tracker: Tracker) -> Reply:
        task = tracker.get_slot("order_task")
        items = tracker.get_slot("order_details") or ""
        remedy = tracker.get_slot("order_remedy") or "person"
        description = tracker.get_slot("order_reason") or ""
        # "Missing" for a parcel that is overdue and not delivered: the owner chases a late order.
        late = task == "missing_item" and is_late(order, self.shop, self.now())
        case = self.orders.open_case("late" if late else CATEGORIES[task], order.number, items, description,
                                     tracker.sender_id, remedy=remedy, contact=order.email,
                                     photo_path=own_photo(tracker.get_slot("order_photo"), tracker.sender_id),
                                     message_id=self.message_id(tracker))
        self._tell_owner_about_case(case)
        if remedy == "person":  # the bot cannot settle it: the same way to a person as asking for one
            summary = {"intent": task, "order": order.number, "verified": True, "case": case, "items": items,
                       "problem": description}
            _, then = self.hand_over(tracker, "order_case", summary, order.email, self.orders.case_id(case))
            return Reply(f"Thank you. I've opened case {case} for order {order.number}. {then}")
        then = {
            "replacement": f"We'll send a replacement for {items} at no cost once the team has checked "
                           f"the case.",
            "refund": f"We'll refund {items}: {self.shop.refund_method} It takes up to "
                      f"{self.shop.refund_processing_days} working days.",
        }[remedy]
        return Reply(f"Thank you. I've opened case {case} for order {order.number}. {then} The team replies "
                     f"{self.shop.reply_time} at {order.email}.")
