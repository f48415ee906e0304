"""A customer as the console shows them: who they are, what they bought, every conversation, case, ticket,
rating and follow-up, and the owner's notes and tags.

What belongs to a customer: the conversations linked to them (identity.py) and those where one of their
emails was left for a ticket or a case before linking existed (the same conversations export and deletion
cover, erasure.py), and through those their handoffs, cases and ratings; the orders carrying one of their
emails or phones (imported or not), and the cases about those orders. Nothing is matched by name: two
people called Sam stay two. Search and the recent list are in ``search.py``; the records in
``profile_records.py``. Times are naive UTC, as the tables keep them.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import inspect, or_, select, update
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.customers.identity import customers_of
from actions.services.customers.profile_records import (
    CaseRecord,
    ConversationRecord,
    CustomerProfile,
    FeedbackRecord,
    FollowUp,
    HandoffRecord,
    OrderRecord,
)
from actions.services.customers.search import CustomerSummary, find_customers
from actions.services.figures import AUTOMATIC_OPENING, events

MAX_NOTES = 5000
MAX_TAG = 30


def clean_tags(text: str) -> Tuple[str, ...]:
    """Tags as typed ("VIP, wholesale ,vip") as stored: lower case, each once, sorted."""
    return tuple(sorted({tag.strip().lower()[:MAX_TAG] for tag in text.split(",") if tag.strip()}))


Times = Tuple[dt.datetime, dt.datetime, int, str, int]  # first and last message, how many, channel, chats


def conversation_times(connection: Connection, ids: Sequence[str]) -> Dict[str, Times]:
    """First and last message, message count, channel and chats (a browser's visits: Rasa's sessions) of each
    conversation in Rasa's events table."""
    found: Dict[str, Times] = {}
    if not ids or not inspect(connection).has_table("events"):
        return found
    e = events.c
    rows = connection.execute(select(e.sender_id, e.type_name, e.timestamp, e.data)
                              .where(e.sender_id.in_(list(ids)),
                                     e.type_name.in_(("user", "bot", "session_started")))
                              .order_by(e.id))
    chats: Dict[str, int] = {}
    for sender, kind, timestamp, raw in rows:
        if kind == "session_started":
            chats[sender] = chats.get(sender, 0) + 1
            continue
        data = _json(raw)
        if kind == "user" and data.get("text") == AUTOMATIC_OPENING:
            continue
        at = naive_utc(dt.datetime.fromtimestamp(timestamp, dt.timezone.utc))
        first, last, count, channel, _ = found.get(sender, (at, at, 0, "", 1))
        if kind == "user" and not channel:
            channel = str(data.get("input_channel") or "")
        found[sender] = (min(first, at), max(last, at), count + 1, channel, 1)
    return {sender: (*times[:4], max(chats.get(sender, 0), 1)) for sender, times in found.items()}


def _json(text: Optional[str]) -> Dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class CustomerBook:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def search(self, query: str = "", limit: int = 50) -> List[CustomerSummary]:
        """Customers by name, email, phone or order number; without a query, the latest contacted first."""
        with self.engine.connect() as connection:
            return find_customers(connection, query, limit)

    def customer_for_conversation(self, conversation_id: str) -> Optional[int]:
        """The customer this conversation proved itself as (the first, should it have proved two)."""
        with self.engine.connect() as connection:
            return next(iter(customers_of(connection, conversation_id)), None)

    def profile(self, customer_id: int) -> Optional[CustomerProfile]:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.customers).where(t.customers.c.id == customer_id)
                                     ).mappings().first()
            if row is None:
                return None
            contacts = connection.execute(
                select(t.customer_contacts.c.kind, t.customer_contacts.c.value)
                .where(t.customer_contacts.c.customer_id == customer_id)
                .order_by(t.customer_contacts.c.added_at, t.customer_contacts.c.id)).all()
            emails = tuple(v for k, v in contacts if k == "email")
            phones = tuple(v for k, v in contacts if k == "phone")
            orders = _orders(connection, emails, phones)
            conversations = _conversations(connection, customer_id, emails)
            ids = [c.conversation_id for c in conversations]
            return CustomerProfile(
                row["id"], row["name"], row["notes"], clean_tags(row["tags"]), row["created_at"], emails,
                phones, orders, conversations, _cases(connection, ids, [o.id for o in orders]),
                _handoffs(connection, ids), _feedback(connection, ids), _follow_ups(connection, customer_id))

    def set_notes(self, customer_id: int, notes: str) -> bool:
        """The owner's notes, replaced; False when there is no such customer."""
        with self.engine.begin() as connection:
            return connection.execute(update(t.customers).where(t.customers.c.id == customer_id)
                                      .values(notes=notes.strip()[:MAX_NOTES])).rowcount == 1

    def set_tags(self, customer_id: int, tags: str) -> bool:
        """Tags from comma-separated text, replacing the old; False when there is no such customer."""
        with self.engine.begin() as connection:
            return connection.execute(update(t.customers).where(t.customers.c.id == customer_id)
                                      .values(tags=",".join(clean_tags(tags)))).rowcount == 1

    def record_followup(self, customer_id: int, owner_id: Optional[int], to_email: str, subject: str,
                        body: str, feedback_id: Optional[int] = None) -> int:
        """An email the owner is about to send, stored unsent first (``mark_mailed`` once the mail server took
        it, ``withdraw_followup`` if it refused): the history never shows as sent what was not."""
        with self.engine.begin() as connection:
            return int(connection.execute(t.customer_followups.insert().values(
                customer_id=customer_id, owner_id=owner_id, feedback_id=feedback_id, to_email=to_email,
                subject=subject, body=body, created_at=naive_utc(self.clock()))).inserted_primary_key[0])

    def mark_mailed(self, followup_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(t.customer_followups).where(t.customer_followups.c.id == followup_id)
                               .values(mailed_at=naive_utc(self.clock())))

    def withdraw_followup(self, followup_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(t.customer_followups.delete().where(t.customer_followups.c.id == followup_id))


def _orders(connection: Connection, emails: Sequence[str], phones: Sequence[str]) -> Tuple[OrderRecord, ...]:
    o = t.orders.c
    mine = [o.email.in_(list(emails))] if emails else []
    mine += [o.phone.in_(list(phones))] if phones else []
    if not mine:
        return ()
    rows = connection.execute(select(o.id, o.number, o.status, o.placed_at, o.total, o.currency)
                              .where(or_(*mine)).order_by(o.placed_at.desc(), o.id.desc()))
    return tuple(OrderRecord(r.id, r.number, r.status, r.placed_at, Decimal(r.total), r.currency)
                 for r in rows)


def _conversations(connection: Connection, customer_id: int,
                   emails: Sequence[str]) -> Tuple[ConversationRecord, ...]:
    links = t.customer_conversations.c
    linked = {row.conversation_id: (row.how, row.linked_at) for row in connection.execute(
        select(links.conversation_id, links.how, links.linked_at).where(links.customer_id == customer_id))}
    if emails:  # an email left for a ticket or a case in a chat never linked (before issue 18): theirs too
        h, c = t.handoffs.c, t.cases.c
        for conversation_id, at in [*connection.execute(select(h.conversation_id, h.created_at)
                                                        .where(h.contact_email.in_(list(emails)))),
                                    *connection.execute(select(c.conversation_id, c.created_at)
                                                        .where(c.contact.in_(list(emails))))]:
            if conversation_id and (conversation_id not in linked or linked[conversation_id][0] == "email"):
                earlier = min(at, linked.get(conversation_id, ("email", at))[1])
                linked[conversation_id] = ("email", earlier)
    ids = list(linked)
    times = conversation_times(connection, ids)
    handoff_of: Dict[str, int] = {}
    if ids:
        for conversation_id, handoff_id in connection.execute(
                select(t.handoffs.c.conversation_id, t.handoffs.c.id)
                .where(t.handoffs.c.conversation_id.in_(ids)).order_by(t.handoffs.c.id)):
            handoff_of[conversation_id] = handoff_id
    records = []
    for conversation_id, (how, linked_at) in linked.items():
        first, last, count, channel, chats = times.get(conversation_id, (None, None, 0, "", 1))
        records.append(ConversationRecord(conversation_id, how, linked_at, first, last, count, channel,
                                          handoff_of.get(conversation_id), chats))
    return tuple(sorted(records, key=lambda c: (c.last_at or c.linked_at, c.conversation_id), reverse=True))


def _cases(connection: Connection, conversation_ids: List[str],
           order_ids: List[int]) -> Tuple[CaseRecord, ...]:
    c, o = t.cases.c, t.orders.c
    mine = [c.conversation_id.in_(conversation_ids)] if conversation_ids else []
    mine += [c.order_id.in_(order_ids)] if order_ids else []
    if not mine:
        return ()
    rows = connection.execute(
        select(c.id, c.number, c.category, c.status, c.created_at, o.number.label("order_number"),
               c.description, c.conversation_id)
        .select_from(t.cases.outerjoin(t.orders, o.id == c.order_id))
        .where(or_(*mine)).order_by(c.created_at.desc(), c.id.desc()))
    return tuple(CaseRecord(r.id, r.number or f"case {r.id}", r.category, r.status, r.created_at,
                            r.order_number, r.description, r.conversation_id) for r in rows)


def _handoffs(connection: Connection, conversation_ids: List[str]) -> Tuple[HandoffRecord, ...]:
    if not conversation_ids:
        return ()
    h = t.handoffs.c
    rows = connection.execute(select(h.id, h.conversation_id, h.status, h.reason, h.created_at,
                                     h.reply_due_at)
                              .where(h.conversation_id.in_(conversation_ids))
                              .order_by(h.created_at.desc(), h.id.desc()))
    return tuple(HandoffRecord(r.id, r.conversation_id, r.status, r.reason, r.created_at,
                               r.status == "ticket" or r.reply_due_at is not None) for r in rows)


def _feedback(connection: Connection, conversation_ids: List[str]) -> Tuple[FeedbackRecord, ...]:
    if not conversation_ids:
        return ()
    f = t.feedback.c
    rows = connection.execute(select(f.id, f.conversation_id, f.kind, f.score, f.comment, f.declined,
                                     f.created_at)
                              .where(f.conversation_id.in_(conversation_ids))
                              .order_by(f.created_at.desc(), f.id.desc()))
    return tuple(FeedbackRecord(r.id, r.conversation_id, r.kind, r.score, r.comment or "", bool(r.declined),
                                r.created_at) for r in rows)


def _follow_ups(connection: Connection, customer_id: int) -> Tuple[FollowUp, ...]:
    f, who = t.customer_followups.c, t.owners.c
    rows = connection.execute(
        select(f.id, f.feedback_id, f.to_email, f.subject, f.body, f.created_at, f.mailed_at, who.name)
        .select_from(t.customer_followups.outerjoin(t.owners, who.id == f.owner_id))
        .where(f.customer_id == customer_id).order_by(f.created_at.desc(), f.id.desc()))
    return tuple(FollowUp(r.id, r.feedback_id, r.to_email, r.subject, r.body, r.created_at, r.mailed_at,
                          r.name or "") for r in rows)
