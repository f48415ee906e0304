"""A complaint: what happened, which order if any, how to reach the customer; then a person.

The form only gathers; ``action_handoff`` records the complaint as a case (committed, with the case
number the customer sees) and hands the conversation to a person or opens a ticket. The contact is the
``ticket_email`` slot, so a ticket opened afterwards does not ask for it again.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import ValidateTicketForm
from actions.order_flow import _free_text
from actions.order_questions import choice_button
from actions.replies import FixedQuestion
from actions.shop import OrderAware

NOT_ABOUT_AN_ORDER = "none"
_NO_ORDER = re.compile(r"^(no|nope|none|not|n/a|na|no order|not about an order|it'?s not)\b", re.I)
# A first message this long already says what happened ("I want to complain: the beans were stale and ...").
_TOLD_IT_ALL_WORDS = 10
# Small talk typed where the form asks what happened is not what happened: the form's from_text mapping
# does not leave these intents out, and "how are you" had become a case's whole description. A short
# aside, then the question again; a message as long as a story is kept (it may be the complaint itself).
_NOT_WHAT_HAPPENED = {
    "how_are_you": "I'm well, thanks for asking.",
    "laugh": "",
    "greet": "Hello!",
    "thank_you": "",
    "bot_challenge": "I'm the shop's assistant, a bot; the owner reads every complaint.",
}


class ValidateComplaintForm(OrderAware, ValidateTicketForm):
    """The email address is checked as for a ticket: it is the ticket's address if one follows. A customer
    who proved an order in this chat is not asked again: the order's email is theirs."""

    def name(self) -> str:
        return "validate_complaint_form"

    async def extract_ticket_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("ticket_email"):
            return {}
        order = self.proved_order(tracker)
        return {"ticket_email": order.email} if order and order.email else {}

    async def extract_complaint_text(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        message = tracker.latest_message
        text = message.get("text") or ""
        opening = tracker.get_slot("requested_slot") is None and not tracker.get_slot("complaint_text")
        if (
            opening
            and (message.get("intent") or {}).get("name") == "complaint"
            and len(text.split()) >= _TOLD_IT_ALL_WORDS
        ):
            return {"complaint_text": text}
        return {}

    def validate_complaint_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = _free_text(value)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if text is not None and intent in _NOT_WHAT_HAPPENED and len(text.split()) < _TOLD_IT_ALL_WORDS:
            if _NOT_WHAT_HAPPENED[intent]:
                dispatcher.utter_message(text=_NOT_WHAT_HAPPENED[intent])
            return {"complaint_text": None}  # the form asks what happened again
        if text is None or len(text) < 3:
            dispatcher.utter_message(text="Could you tell me in a few words what went wrong?")
            return {"complaint_text": None}
        return {"complaint_text": text}

    def validate_complaint_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = str(value or "").strip()
        if text == NOT_ABOUT_AN_ORDER or _NO_ORDER.match(text):
            return {"complaint_order": NOT_ABOUT_AN_ORDER}
        number = self.shop.order_number.find(text)
        if number is None:
            dispatcher.utter_message(
                text=f"That doesn't look like one of our order numbers (they look like "
                f'{self.shop.order_number.example}). Type it, or choose "Not about an order".',
                buttons=[choice_button("Not about an order", NOT_ABOUT_AN_ORDER)],
            )
        return {"complaint_order": number}


class AskComplaintText(FixedQuestion):
    action = "action_ask_complaint_text"
    text = "I'm sorry to hear that. Please tell me what happened; I'll pass it to the owner word for word."


class AskComplaintOrder(Action):
    def name(self) -> str:
        return "action_ask_complaint_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        known = tracker.get_slot("verified_order") or tracker.get_slot("order_id")
        buttons = [choice_button(f"Order {known}", known)] if known else []
        buttons.append(choice_button("Not about an order", NOT_ABOUT_AN_ORDER))
        dispatcher.utter_message(
            text="Is this about an order? If so, what is the order number?", buttons=buttons
        )
        return []


class AskComplaintEmail(FixedQuestion):
    action = "action_ask_complaint_form_ticket_email"
    text = "What email address can the team reach you at about this?"
