"""What the customer page shows, as records: a customer's orders, conversations, cases, handoffs, ratings and
the owner's follow-ups, and the profile that holds them (read by ``profiles.py``). Times are naive UTC."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional, Tuple


@dataclass(frozen=True)
class OrderRecord:
    id: int
    number: str
    status: str
    placed_at: dt.datetime
    total: Decimal
    currency: str


@dataclass(frozen=True)
class ConversationRecord:
    conversation_id: str
    how: str        # order, ticket, complaint: how it proved who the customer is; email: left their email
                    # for a ticket or a case in a chat that was never linked (before customers were)
    linked_at: dt.datetime
    first_at: Optional[dt.datetime]    # its first and last message (None: not in the tracker store)
    last_at: Optional[dt.datetime]
    messages: int                      # the customer's and the bot's, without the widget's opening
    channel: str                       # the channel the customer wrote on, when the events say
    handoff_id: Optional[int]          # its latest handoff: the console page it has
    chats: int = 1                     # the browser's visits in it (Rasa's sessions), each a chat


@dataclass(frozen=True)
class CaseRecord:
    id: int
    number: str
    category: str
    status: str
    created_at: dt.datetime
    order_number: Optional[str]
    description: str
    conversation_id: Optional[str]


@dataclass(frozen=True)
class HandoffRecord:
    id: int
    conversation_id: str
    status: str
    reason: str
    created_at: dt.datetime
    was_ticket: bool                   # the customer was promised an email reply


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    conversation_id: str
    kind: str                          # csat, nps, feedback, thumb
    score: Optional[int]
    comment: str
    declined: bool
    created_at: dt.datetime

    @property
    def unhappy(self) -> bool:
        """An NPS detractor (0-6) or a rating of 1 or 2 out of 5: the owner may want to follow up."""
        if self.declined or self.score is None:
            return False
        if self.kind == "nps":
            return self.score <= 6
        return self.kind in ("csat", "feedback") and self.score <= 2


@dataclass(frozen=True)
class FollowUp:
    id: int
    feedback_id: Optional[int]
    to_email: str
    subject: str
    body: str
    created_at: dt.datetime
    mailed_at: Optional[dt.datetime]   # None: the mail server has not taken it
    sent_by: str                       # the account's name; empty once the account is gone


@dataclass(frozen=True)
class CustomerProfile:
    id: int
    name: str
    notes: str
    tags: Tuple[str, ...]
    created_at: dt.datetime
    emails: Tuple[str, ...]            # earliest proved first
    phones: Tuple[str, ...]            # digits with the country code
    orders: Tuple[OrderRecord, ...]    # newest first
    conversations: Tuple[ConversationRecord, ...]  # latest first
    cases: Tuple[CaseRecord, ...]      # newest first, complaints included
    handoffs: Tuple[HandoffRecord, ...]
    feedback: Tuple[FeedbackRecord, ...]
    follow_ups: Tuple[FollowUp, ...]

    @property
    def ratings(self) -> Tuple[FeedbackRecord, ...]:
        """CSAT ratings, comments and thumbs: everything but NPS."""
        return tuple(f for f in self.feedback if f.kind != "nps")

    @property
    def nps(self) -> Tuple[FeedbackRecord, ...]:
        return tuple(f for f in self.feedback if f.kind == "nps")

    @property
    def first_contact(self) -> dt.datetime:
        return min([self.created_at, *(c.first_at or c.linked_at for c in self.conversations)])

    @property
    def last_contact(self) -> dt.datetime:
        return max([self.created_at, *(max(c.last_at or c.linked_at, c.linked_at)
                                       for c in self.conversations)])

    @property
    def open_cases(self) -> Tuple[CaseRecord, ...]:
        return tuple(c for c in self.cases if c.status == "open")

    @property
    def last_rating(self) -> Optional[FeedbackRecord]:
        scored = [f for f in self.feedback if f.score is not None and f.kind in ("csat", "nps")]
        return scored[0] if scored else None

    def follow_ups_of(self, feedback_id: int) -> Tuple[FollowUp, ...]:
        return tuple(f for f in self.follow_ups if f.feedback_id == feedback_id)
