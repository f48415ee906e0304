"""A new chat in a conversation: the widget keeps its conversation across visits on one browser, and Rasa
starts a new session in it after an hour without messages.

The new chat starts unproven (issue 18): orders proved in the earlier chat must be proved again before they
are shown or changed, and the slots that held who the customer is (their order, email, answers) are not
carried over. What the earlier chat already showed this browser is carried (``shown_order``), and whether
there was one (``returning_visitor``): the greeting welcomes them back with it (actions/conversation.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services.customers.memory import ShownOrder
from actions.shop import OrderAware

# Carried into the next chat: nothing about the customer that the earlier chats did not show this browser.
CARRIED = ("shown_order",)


def chat_began(tracker: Tracker) -> Optional[dt.datetime]:
    """When the customer's current chat (Rasa's session) began, if the tracker says."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started" and event.get("timestamp"):
            return dt.datetime.fromtimestamp(float(event["timestamp"]), dt.timezone.utc)
    return None


def had_earlier_chat(tracker: Tracker) -> bool:
    return any(event.get("event") == "user" for event in tracker.events)


class ActionSessionStart(OrderAware, Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[Dict[str, Any]] = [SessionStarted()]
        if had_earlier_chat(tracker):
            self.orders.forget_proofs(tracker.sender_id)
            shown = ShownOrder.from_slot(tracker.get_slot("shown_order"))
            events += [
                SlotSet("returning_visitor", True),
                SlotSet("shown_order", shown.to_slot() if shown else None),
            ]
        metadata = tracker.get_slot("session_started_metadata")
        if metadata:  # what the channel sent with the first message of the chat
            events.append(SlotSet("session_started_metadata", metadata))
        return [*events, ActionExecuted("action_listen")]
