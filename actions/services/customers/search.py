"""Finding a customer: by name, email, phone (typed any way) or order number; or the latest contacted.

Words are matched anywhere (case-insensitive) in a customer's name and emails; a phone as its digits with
the country code ("07700 900101", "+44 7700 900101" and "447700900101" find the same customer); an order's
number, email or phone leads to the customer who holds that email or phone (an order whose email nobody
proved yet leads nowhere: an order alone does not make a customer).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.engine import Connection

from actions.services import order_tables as t
from actions.services.figures import events
from actions.services.orders import phone_digits

MAX_QUERY = 200
PHONE_LIKE = re.compile(r"[\d\s()+./-]+")  # what a phone number is typed with
MIN_PHONE_DIGITS = 4


@dataclass(frozen=True)
class CustomerSummary:
    id: int
    name: str
    emails: Tuple[str, ...]
    phones: Tuple[str, ...]
    tags: Tuple[str, ...]
    conversations: int
    last_contact: dt.datetime  # naive UTC: their latest message, or the latest proof when no message is known


def find_customers(connection: Connection, query: str, limit: int) -> List[CustomerSummary]:
    text = query.strip()[:MAX_QUERY]
    return _summaries(connection, _matching(connection, text) if text else None, limit)


def _typed_phone(text: str) -> str:
    digits = sum(ch.isdigit() for ch in text)
    return phone_digits(text) if PHONE_LIKE.fullmatch(text) and digits >= MIN_PHONE_DIGITS else ""


def _matching(connection: Connection, text: str) -> Set[int]:
    lower, phone = text.lower(), _typed_phone(text)
    cu, cc, o = t.customers.c, t.customer_contacts.c, t.orders.c
    found = set(connection.execute(select(cu.id).where(
        func.lower(cu.name).contains(lower, autoescape=True))).scalars())
    mine = [(cc.kind == "email") & cc.value.contains(lower, autoescape=True)]
    if phone:
        mine.append((cc.kind == "phone") & cc.value.contains(phone, autoescape=True))
    found |= set(connection.execute(select(cc.customer_id).where(or_(*mine))).scalars())
    on_orders = [func.upper(o.number).contains(text.upper(), autoescape=True),
                 func.lower(o.email).contains(lower, autoescape=True)]
    if phone:
        on_orders.append(o.phone.contains(phone, autoescape=True))
    orders = connection.execute(select(o.email, o.phone).where(or_(*on_orders)).limit(500)).all()
    emails = sorted({email.lower() for email, _ in orders if email})
    phones = sorted({number for _, number in orders if number})
    held = [(cc.kind == "email") & cc.value.in_(emails)] if emails else []
    held += [(cc.kind == "phone") & cc.value.in_(phones)] if phones else []
    if held:
        found |= set(connection.execute(select(cc.customer_id).where(or_(*held))).scalars())
    return found


def _summaries(connection: Connection, ids: Optional[Set[int]], limit: int) -> List[CustomerSummary]:
    cu, links = t.customers.c, t.customer_conversations.c
    if ids is not None and not ids:
        return []
    def chosen(column: Any) -> Any:  # the customers asked for: those found, or everybody
        return column.in_(sorted(ids)) if ids is not None else column.isnot(None)

    customers = connection.execute(select(cu.id, cu.name, cu.tags, cu.created_at).where(chosen(cu.id))).all()
    last: Dict[int, dt.datetime] = {row.id: row.created_at for row in customers}
    counts: Dict[int, int] = {}
    for customer_id, count, linked in connection.execute(
            select(links.customer_id, func.count(), func.max(links.linked_at))
            .where(chosen(links.customer_id)).group_by(links.customer_id)):
        counts[customer_id] = count
        last[customer_id] = max(last.get(customer_id, linked), linked)
    if inspect(connection).has_table("events"):
        for customer_id, timestamp in connection.execute(
                select(links.customer_id, func.max(events.c.timestamp))
                .select_from(t.customer_conversations.join(events,
                                                           events.c.sender_id == links.conversation_id))
                .where(chosen(links.customer_id), events.c.type_name.in_(("user", "bot")))
                .group_by(links.customer_id)):
            if timestamp is not None and customer_id in last:
                at = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)
                last[customer_id] = max(last[customer_id], at)
        # A browser's visits are chats (Rasa's sessions) in one conversation: each counts.
        linked = select(links.conversation_id).where(chosen(links.customer_id))
        sessions = dict(connection.execute(
            select(events.c.sender_id, func.count())
            .where(events.c.type_name == "session_started", events.c.sender_id.in_(linked))
            .group_by(events.c.sender_id)).all())
        counts = {}
        for customer_id, conversation_id in connection.execute(
                select(links.customer_id, links.conversation_id).where(chosen(links.customer_id))):
            counts[customer_id] = counts.get(customer_id, 0) + max(sessions.get(conversation_id, 0), 1)
    shown = sorted(customers, key=lambda row: (last[row.id], row.id), reverse=True)[:max(limit, 0)]
    contacts: Dict[int, List[Tuple[str, str]]] = {row.id: [] for row in shown}
    if shown:
        cc = t.customer_contacts.c
        for customer_id, kind, value in connection.execute(
                select(cc.customer_id, cc.kind, cc.value).where(cc.customer_id.in_(list(contacts)))
                .order_by(cc.added_at, cc.id)):
            contacts[customer_id].append((kind, value))
    return [CustomerSummary(row.id, row.name, tuple(v for k, v in contacts[row.id] if k == "email"),
                            tuple(v for k, v in contacts[row.id] if k == "phone"),
                            tuple(tag for tag in row.tags.split(",") if tag), counts.get(row.id, 0),
                            last[row.id])
            for row in shown]
