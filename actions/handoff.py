"""Handing a conversation to a person: the live queue when somebody is there, else an offline ticket.

Within opening hours (shop.yml, the shop's time zone) and with somebody using the console in the last
minutes, the customer joins the queue and hears their place; otherwise the bot says when the shop will
answer, asks for an email address (ticket_form), records a ticket with the promised reply time and
emails the owner. Either way the bot keeps answering questions meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_flow import TASK_SLOTS
from actions.replies import Reply
from actions.services.mail import MailError
from actions.services.opening_hours import describe_status, opening_status
from actions.services.order_rules import add_working_days
from actions.shop import HandoffAware

logger = logging.getLogger(__name__)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def handoff_summary(tracker: Tracker) -> Dict[str, Any]:
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
        summary["verified"] = bool(tracker.get_slot("verified_order"))
    return summary


class ActionHandoff(HandoffAware, Action):
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
        now = self.now()
        queue = self.handoffs
        existing = queue.open_for(tracker.sender_id)
        if existing is not None:
            place = queue.position(tracker.sender_id)
            text = {
                "waiting": f"You're already in the queue for a person: number {place}.",
                "active": "A person from the team has this chat and will answer here.",
                "ticket": f"The team already has your message and will reply {self.shop.reply_time}"
                f"{' at ' + existing.contact_email if existing.contact_email else ''}.",
            }
            Reply(text[existing.status]).send(dispatcher)
            return [*events, SlotSet("handoff_route", "queue")]
        status = opening_status(self.shop, now)
        if status.open_until is not None and self.accounts.anyone_online(now):
            queue.request(tracker.sender_id, "human_handoff", handoff_summary(tracker))
            place = queue.position(tracker.sender_id)
            Reply(
                f"I've asked a person to join this chat. You're number {place} in the queue; someone usually "
                f"replies {self.shop.widget.live_reply_time}. Meanwhile I'm still here for questions about "
                f"hours, delivery, returns or your order."
            ).send(dispatcher)
            return [*events, SlotSet("handoff_route", "queue")]
        why = (
            describe_status(self.shop, status)
            if status.open_until is None
            else "Nobody from the team can chat right now."
        )
        Reply(f"{why} Leave your email address and the team will reply {self.shop.reply_time}.").send(
            dispatcher
        )
        return [*events, SlotSet("handoff_route", "ticket")]


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    def validate_ticket_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        email = str(value or "").strip()
        if _EMAIL.match(email):
            return {"ticket_email": email}
        dispatcher.utter_message(
            text="That doesn't look like an email address; please type it like name@example.com."
        )
        return {"ticket_email": None}


class AskTicketEmail(Action):
    def name(self) -> str:
        return "action_ask_ticket_email"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(text="What email address should the team reply to?")
        return []


class ActionOpenTicket(HandoffAware, Action):
    """Record the ticket (committed), tell the owner by email, then confirm to the customer."""

    def name(self) -> str:
        return "action_open_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        email = tracker.get_slot("ticket_email") or ""
        now = self.now()
        local = now.astimezone(self.shop.timezone)
        due_day = add_working_days(local.date(), 1)
        due = dt.datetime.combine(due_day, local.time(), self.shop.timezone)
        summary = handoff_summary(tracker)
        ticket = self.handoffs.request(
            tracker.sender_id, "human_handoff", summary, contact_email=email, ticket_due=due
        )
        self._tell_owner(ticket.id, email, summary, due)
        Reply(
            f"Thank you. I've passed this to the team; they'll reply {self.shop.reply_time} at {email}. "
            f"Meanwhile I can still help with opening hours, delivery, returns and your orders."
        ).send(dispatcher)
        return [SlotSet("handoff_route", None)]

    def _tell_owner(self, ticket_id: int, email: str, summary: Dict[str, Any], due: dt.datetime) -> None:
        if not self.mailer.enabled:
            logger.warning("Ticket %s opened; SMTP_HOST is not set, so the owner gets no email", ticket_id)
            return
        lines = (
            [
                f"A customer asked for a person while nobody could chat. Reply to {email} by "
                f"{due:%A %d %B %H:%M}.",
                "",
            ]
            + [f"{k}: {v}" for k, v in summary.items()]
            + ["", f"Ticket {ticket_id} is in the console inbox under Tickets."]
        )
        try:
            self.mailer.send(
                self.shop.owner_email, f"New ticket from the chat ({email})", "\n".join(lines), reply_to=email
            )
        except MailError:
            logger.exception("Ticket %s is stored, but the email to the owner failed", ticket_id)
