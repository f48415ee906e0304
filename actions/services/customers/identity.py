"""Who a chat's customer is: a conversation is linked to a customer when it proves an email or phone.

Proof is a verified order (number + the order's email or phone), or the email given for a ticket or a
complaint. The link is written in the same transaction as the proof itself, so nothing is linked that was
not stored. A customer is found by any email or phone they proved before; an order's email and phone both
join the customer, and its name becomes theirs if they have none yet. An email or phone already held by
another customer stays theirs: two people sharing a phone are not merged into one.
"""

from __future__ import annotations

import datetime as dt
from typing import List, Optional

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from actions.services import order_tables as t
from actions.services.database import insert_new

PROOFS = ("order", "ticket", "complaint")


def _contacts(email: Optional[str], phone: Optional[str]) -> List[tuple]:
    pairs = []
    if email and email.strip():
        pairs.append(("email", email.strip().lower()))
    if phone and phone.strip():
        pairs.append(("phone", phone.strip()))
    return pairs


def _owner_of(connection: Connection, kind: str, value: str) -> Optional[int]:
    table = t.customer_contacts
    return connection.execute(
        select(table.c.customer_id).where(table.c.kind == kind, table.c.value == value)
    ).scalar()


def link_conversation(
    connection: Connection,
    conversation_id: str,
    *,
    how: str,
    at: dt.datetime,
    email: Optional[str] = None,
    phone: Optional[str] = None,
    name: str = "",
) -> Optional[int]:
    """Link ``conversation_id`` to the customer holding ``email`` or ``phone`` (a new one if nobody does);
    returns the customer's id, or None when there is nothing to link by. ``at`` is naive UTC.

    Runs inside the caller's transaction. Two processes proving the same new email at the same moment each
    make a customer; the contact's insert does nothing where the other got there first, and a customer left
    with no contact of its own is dropped for the one that holds them."""
    assert how in PROOFS, how
    pairs = _contacts(email, phone)
    if not conversation_id or not pairs:
        return None
    customer_id = next((c for c in (_owner_of(connection, k, v) for k, v in pairs) if c is not None), None)
    made = customer_id is None
    if made:
        customer_id = connection.execute(
            t.customers.insert().values(name=name.strip()[:200], notes="", tags="", created_at=at)
        ).inserted_primary_key[0]
    elif name.strip():
        connection.execute(
            t.customers.update()
            .where(t.customers.c.id == customer_id, t.customers.c.name == "")
            .values(name=name.strip()[:200])
        )
    for kind, value in pairs:
        values = dict(customer_id=customer_id, kind=kind, value=value, added_at=at)
        connection.execute(insert_new(connection, t.customer_contacts, values))
    holder = next((c for c in (_owner_of(connection, k, v) for k, v in pairs) if c is not None), customer_id)
    if made and holder != customer_id:  # another process made this customer first: theirs, not a second
        connection.execute(
            delete(t.customer_contacts).where(t.customer_contacts.c.customer_id == customer_id)
        )
        connection.execute(delete(t.customers).where(t.customers.c.id == customer_id))
        customer_id = holder
    link = dict(conversation_id=conversation_id, customer_id=customer_id, how=how, linked_at=at)
    connection.execute(insert_new(connection, t.customer_conversations, link))
    return customer_id


def customers_of(connection: Connection, conversation_id: str) -> List[int]:
    """The customers ``conversation_id`` proved itself as (usually one), earliest link first."""
    links = t.customer_conversations
    return list(
        connection.execute(
            select(links.c.customer_id)
            .where(links.c.conversation_id == conversation_id)
            .order_by(links.c.linked_at, links.c.customer_id)
        ).scalars()
    )


def customer_by_contact(connection: Connection, text: str) -> Optional[int]:
    """The customer holding this email or phone (phone as digits with country code), if any."""
    value = text.strip()
    kind = "email" if "@" in value else "phone"
    return _owner_of(connection, kind, value.lower() if kind == "email" else value)


def conversations_of(connection: Connection, customer_id: int) -> List[str]:
    links = t.customer_conversations
    return list(
        connection.execute(
            select(links.c.conversation_id)
            .where(links.c.customer_id == customer_id)
            .order_by(links.c.linked_at)
        ).scalars()
    )
