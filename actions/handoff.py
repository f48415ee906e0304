"""Handing a conversation to a person: the live queue when somebody is there, else an offline ticket.

Within opening hours (shop.yml, the shop's time zone) and with somebody using the console in the last
minutes, the customer joins the queue and hears their place; otherwise the bot says when the shop will
answer, asks for an email address (ticket_form), records a ticket with the promised reply time and
emails the owner. Either way the bot keeps answering questions meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_flow import TASK_SLOTS
from actions.replies import FixedQuestion, Reply
from actions.services.channels.conversations import LABELS as CHANNEL_LABELS
from actions.services.channels.conversations import reaches_back
from actions.services.email_address import parse_email
from actions.services.mail import MailError
from actions.services.opening_hours import describe_status, opening_status, reply_due
from actions.services.orders import OrderService
from actions.services.wording import summary_rows
from actions.shop import HandoffAware

logger = logging.getLogger(__name__)


def valid_email(value: Any, dispatcher: CollectingDispatcher) -> Optional[str]:
    """The address, or None after telling the customer how it should look."""
    email = parse_email(str(value or ""))
    if email:
        return email
    dispatcher.utter_message(
        text="That doesn't look like an email address; please type it like name@example.com, or say "
             "\"never mind\" to leave it.")
    return None


def handoff_summary(tracker: Tracker, orders: OrderService) -> Dict[str, Any]:
    """What the person sees first: what the customer wanted, which order, verified or not.

    "What they wanted" is the message that asked for a person, not the email address typed after it.
    """
    asking = next(
        (
            e
            for e in reversed(tracker.events)
            if e.get("event") == "user"
            and (e.get("parse_data") or {}).get("intent", {}).get("name") == "human_handoff"
        ),
        None,
    )
    message = (asking or {}).get("parse_data") or tracker.latest_message
    summary: Dict[str, Any] = {
        "intent": (message.get("intent") or {}).get("name") or "",
        "asked": (asking or {}).get("text") or tracker.latest_message.get("text") or "",
    }
    order = tracker.get_slot("verified_order") or tracker.get_slot("order_id")
    if order:
        summary["order"] = order
        summary["verified"] = orders.verified_order(tracker.sender_id, order) is not None
    return summary


def handoff_reason(tracker: Tracker) -> str:
    """fallback when the customer took the "Talk to a person" offer after the bot gave up, else the ask."""
    events = tracker.events
    asked = next((i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"
                  and (events[i].get("parse_data") or {}).get("intent", {}).get("name") == "human_handoff"),
                 None)
    before = next((e.get("name") for e in reversed(events[:asked or 0]) if e.get("event") == "action"
                   and e.get("name") != "action_listen"), None)
    return "fallback" if before == "action_default_fallback" else "human_handoff"


class PersonRouting(HandoffAware):
    """The one way to a person, for a request, a complaint or an order case the bot cannot settle.

    Returns the route (``queue``; ``ticket`` when the email address is still needed; ``ticket_open``
    when a ticket was opened with an address the customer already gave) and what to tell the customer.
    """

    def hand_over(self, tracker: Tracker, reason: str, summary: Dict[str, Any],
                  email: Optional[str] = None, case_id: Optional[int] = None) -> Tuple[str, str]:
        now = self.now()
        queue = self.handoffs
        existing = queue.open_for(tracker.sender_id)
        if existing is not None:
            if case_id is not None:  # a complaint while already waiting: it joins the open handoff
                queue.add_to_summary(existing.id, summary, case_id)
            text = {
                "waiting": f"You're already in the queue for a person: number "
                           f"{queue.position(tracker.sender_id)}.",
                "active": "A person from the team has this chat and will answer here.",
                "ticket": f"The team already has your message and will reply {self.shop.reply_time}"
                          f"{' at ' + existing.contact_email if existing.contact_email else ''}.",
            }[existing.status]
            return "queue", text
        status = opening_status(self.shop, now)
        if status.open_until is not None and self.accounts.anyone_online(now):
            queue.request(tracker.sender_id, reason, summary, case_id=case_id)
            return "queue", (
                f"I've asked a person to join this chat. You're number {queue.position(tracker.sender_id)} "
                f"in the queue; someone usually replies {self.shop.widget.live_reply_time}. Meanwhile I'm "
                f"still here for questions about hours, delivery, returns or your order.")
        why = describe_status(self.shop, status) if status.open_until is None \
            else "Nobody from the team can chat right now."
        channel = tracker.get_latest_input_channel()
        if not email and reaches_back(channel, reply_due(self.shop, now), now, self.late_replies):
            # On Telegram, or WhatsApp & co. when a person's reply due then may still go there: it comes here.
            due = self.open_ticket(tracker, reason, summary, "", case_id)
            return "ticket_open", (
                f"{why} The team will reply here on {CHANNEL_LABELS[str(channel)]} {self.shop.reply_time} "
                f"(by {due:%A} {due.day} {due:%B}, {due:%H:%M}). Meanwhile I can still help with opening "
                f"hours, delivery, returns and your orders.")
        if email:
            due = self.open_ticket(tracker, reason, summary, email, case_id)
            return "ticket_open", (
                f"{why} The team will reply by email to {email} {self.shop.reply_time} "
                f"(by {due:%A} {due.day} {due:%B}, {due:%H:%M}). Meanwhile I can still help with opening "
                f"hours, delivery, returns and your orders.")
        return "ticket", f"{why} Leave your email address and the team will reply {self.shop.reply_time}."

    def open_ticket(self, tracker: Tracker, reason: str, summary: Dict[str, Any], email: str,
                    case_id: Optional[int] = None) -> dt.datetime:
        """Record the ticket (committed), tell the owner by email; returns the promised reply time."""
        due = reply_due(self.shop, self.now())
        ticket = self.handoffs.request(tracker.sender_id, reason, summary, contact_email=email or None,
                                       ticket_due=due, case_id=case_id)
        self._tell_owner(ticket.id, email, summary, due)
        return due

    def _tell_owner(self, ticket_id: int, email: str, summary: Dict[str, Any], due: dt.datetime) -> None:
        if not self.mailer.enabled:
            logger.warning("Ticket %s opened; SMTP_HOST is not set, so the owner gets no email", ticket_id)
            return
        where = email or "them in the chat from the console"
        lines = (
            [f"A customer needs a person while nobody could chat. Reply to {where} by "
             f"{due:%A %d %B %H:%M}.", ""]
            + [f"{label}: {words}" for label, words in summary_rows(summary)]  # words, not intent names
            + ["", f"Ticket {ticket_id} is in the console inbox under Tickets."]
        )
        try:
            self.mailer.send(self.shop.owner_email, f"New ticket from the chat ({email or 'no email'})",
                             "\n".join(lines), reply_to=email or None)
        except MailError:
            logger.exception("Ticket %s is stored, but the email to the owner failed", ticket_id)


class ActionHandoff(PersonRouting, Action):
    """A person: asked for, offered after the bot gave up, or after a complaint (recorded first)."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # Asked for in the middle of an order flow: leave the flow first.
        events: List[EventType] = [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *(SlotSet(slot, None) for slot in ("order_task", *TASK_SLOTS)),
        ]
        summary = handoff_summary(tracker, self.orders)
        reason, case_id, opening = handoff_reason(tracker), None, ""
        complaint = tracker.get_slot("complaint_text")
        if complaint:  # the complaint form has just finished: the complaint is committed before a word
            case_number, case_id, summary = self._record_complaint(tracker, complaint, summary)
            reason = "complaint"
            opening = (f"I'm sorry; that isn't the experience we want you to have. I've recorded your "
                       f"complaint as case {case_number}, and the owner reads every one. ")
            events += [SlotSet("complaint_text", None), SlotSet("complaint_order", None)]
        email = tracker.get_slot("ticket_email") or self.verified_email(tracker)
        route, text = self.hand_over(tracker, reason, summary, email, case_id)
        Reply(opening + text).send(dispatcher)
        return [*events, SlotSet("handoff_route", route), SlotSet("ticket_email", email)]

    def verified_email(self, tracker: Tracker) -> Optional[str]:
        """The email on the order the customer proved in this chat: no need to ask for an address."""
        order = self.proved_order(tracker)
        return order.email if order and order.email else None

    def _record_complaint(self, tracker: Tracker, complaint: str,
                          summary: Dict[str, Any]) -> Tuple[str, Optional[int], Dict[str, Any]]:
        number = tracker.get_slot("complaint_order")
        number = number if number and number != "none" else None
        known = number is not None and self.orders.get(number) is not None
        description = complaint if known or number is None else f"(order {number}, not found) {complaint}"
        case_number = self.orders.open_case("complaint", number if known else None, "", description,
                                            tracker.sender_id, contact=tracker.get_slot("ticket_email"),
                                            message_id=self.message_id(tracker))
        summary = {"intent": "complaint", "complaint": complaint, "case": case_number}
        if number:
            summary["order"] = number
            summary["verified"] = self.orders.verified_order(tracker.sender_id, number) is not None
        return case_number, self.orders.case_id(case_number), summary


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    def validate_ticket_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is None:  # action_handoff set it empty (no address known yet): nothing was typed
            return {"ticket_email": None}
        return {"ticket_email": valid_email(value, dispatcher)}


class AskTicketEmail(FixedQuestion):
    action = "action_ask_ticket_email"
    text = "What email address should the team reply to?"


class ActionOpenTicket(PersonRouting, Action):
    """After the email address was given: the ticket (committed), the owner told, then the customer."""

    def name(self) -> str:
        return "action_open_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        email = tracker.get_slot("ticket_email") or ""
        due = self.open_ticket(tracker, handoff_reason(tracker), handoff_summary(tracker, self.orders), email)
        Reply(
            f"Thank you. I've passed this to the team; they'll reply {self.shop.reply_time} at {email} (by "
            f"{due:%A} {due.day} {due:%B}, {due:%H:%M}). Meanwhile I can still help with opening hours, "
            f"delivery, returns and your orders."
        ).send(dispatcher)
        return [SlotSet("handoff_route", None)]
