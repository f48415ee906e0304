"""How many failed order checks (order number + email or phone) the bot allows, beyond one conversation.

Three failures lock a conversation (OrderService.record_failure), but a new sender id is free, and order
numbers are sequential: 30 conversations with one guess each found an order's email (issue 13). So failed
checks are also counted per order number, per client address and overall, in the database, so that every
action-server process sees the same counts. When a limit is reached the check is not even made: the right
email is refused too, or guessing would go on and only the answers would be hidden.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

WINDOW = dt.timedelta(hours=1)
KEEP = dt.timedelta(days=1)  # rows older than this count for nothing and are deleted
# One customer mistyping their email a few times from a few tabs stays under 5; a guesser trying emails
# for one order, from any number of conversations, is stopped after 5 an hour.
PER_ORDER_PER_HOUR = 5
# One address (a person, or a shop's office behind one NAT) has no need for more than a handful of
# wrong checks an hour; more is someone walking through order numbers.
PER_CLIENT_PER_HOUR = 10
# A small shop sees a few wrong checks an hour; 100 means a guesser spread over many orders and addresses.
# Reaching it stops lookups for everybody for up to an hour, which a person can cover; leaking orders
# cannot be undone.
GLOBAL_PER_HOUR = 100
# The message metadata key under which the web server's channels put the client's key: a keyed hash
# (HMAC-SHA256, first 16 hex) of the client's address, never the address; set over anything the client sent.
CLIENT_KEY = "client_key"
CLIENT_KEY_LENGTH = 16


class OrderCheckLimits:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def reached(self, number: str, client_key: str = "") -> Optional[str]:
        """Which limit stops a check of ``number`` now ("order", "client", "global"), or None."""
        table = t.failed_order_checks
        since = naive_utc(self.clock()) - WINDOW
        counts = [("order", table.c.order_number == number[:32], PER_ORDER_PER_HOUR),
                  ("global", None, GLOBAL_PER_HOUR)]
        if client_key:
            counts.insert(1, ("client", table.c.client_key == client_key, PER_CLIENT_PER_HOUR))
        with self.engine.connect() as connection:
            for which, where, limit in counts:
                query = select(func.count()).select_from(table).where(table.c.at > since)
                if where is not None:
                    query = query.where(where)
                if (connection.execute(query).scalar() or 0) >= limit:
                    return which
        return None

    def record_failure(self, conversation_id: str, number: str, client_key: str = "") -> None:
        """Count one failed check (wrong contact or no such order); drop rows older than a day."""
        now = naive_utc(self.clock())
        table = t.failed_order_checks
        with self.engine.begin() as connection:
            connection.execute(table.insert().values(at=now, conversation_id=conversation_id[:255],
                                                     order_number=number[:32],
                                                     client_key=client_key[:CLIENT_KEY_LENGTH]))
            connection.execute(delete(table).where(table.c.at < now - KEEP))
