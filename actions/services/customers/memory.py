"""What a browser's earlier chats showed, kept in the conversation to welcome the customer back.

A new chat (a Rasa session) starts unproven: the customer proves who they are again before any order is
shown (actions/session.py). What an earlier chat on the same browser already showed them (their first name,
an order's number and its status then) is not news to whoever sits at that browser, so the welcome may
repeat it, as it was, never as it is now: "Welcome back, Jo! Is this about your order KC-10003, shipped on
Tuesday?".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "mr.", "mrs.", "ms.", "dr."}
_NAME = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*")
_ORDER_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")
TOPICS = {"order": "order_status", "refund": "refund_status"}
_STATUS_PHRASES = {
    "paid": "placed",
    "packed": "packed",
    "shipped": "shipped",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "refunded": "refunded",
}


def first_name(customer_name: str) -> str:
    """The first name to greet by, from an order's name ("Jo Baker" -> "Jo"); "" when there is no safe one
    (a title without a first name, initials, digits, an email typed as the name)."""
    words = (customer_name or "").split()
    if words and words[0].lower() in _TITLES:
        return ""
    if not words or not _NAME.fullmatch(words[0]) or len(words[0]) < 2 or len(words[0]) > 30:
        return ""
    return words[0][0].upper() + words[0][1:]


def when(day: dt.date, today: dt.date) -> str:
    """ "Tuesday" within the last six days, "on 12 November" before that."""
    if 0 <= (today - day).days <= 6:
        return "today" if day == today else "yesterday" if (today - day).days == 1 else f"on {day:%A}"
    return f"on {day.day} {day:%B}"


@dataclass(frozen=True)
class ShownOrder:
    """An order an earlier chat showed, as it was then: number, status and the day of that status."""

    number: str
    status: str
    day: Optional[dt.date]
    first_name: str = ""
    topic: str = "order"  # what the chat asked about it: "order" (where it is, a change) or "refund"

    def to_slot(self) -> Dict[str, Any]:
        day = self.day.isoformat() if self.day else None
        return {"number": self.number, "status": self.status, "day": day, "first_name": self.first_name,
                "topic": self.topic}

    @classmethod
    def from_slot(cls, value: Any) -> Optional["ShownOrder"]:
        """The slot's value, or None for anything malformed: slots come with every call and prove nothing;
        this one is only ever repeated back to the browser it came from."""
        if not isinstance(value, dict):
            return None
        number, status, name = value.get("number"), value.get("status"), value.get("first_name") or ""
        topic = value.get("topic") or "order"
        if not (
            isinstance(number, str)
            and _ORDER_NUMBER.fullmatch(number)
            and status in _STATUS_PHRASES
            and isinstance(name, str)
            and (not name or _NAME.fullmatch(name))
            and topic in TOPICS
        ):
            return None
        try:
            day = dt.date.fromisoformat(value["day"]) if value.get("day") else None
        except (TypeError, ValueError):
            return None
        return cls(number, status, day, name, topic)

    def status_words(self, today: dt.date) -> str:
        phrase = _STATUS_PHRASES[self.status]
        return f"{phrase} {when(self.day, today)}" if self.day else phrase

    def welcome(self, today: dt.date) -> str:
        hello = f"Welcome back, {self.first_name}!" if self.first_name else "Welcome back!"
        if self.topic == "refund":
            return f"{hello} Is this about the refund on your order {self.number}?"
        return f"{hello} Is this about your order {self.number}, {self.status_words(today)}?"

    @property
    def task(self) -> str:
        """The order task a "yes" to the welcome starts."""
        return TOPICS[self.topic]
