"""What a person says into a chat, kept until the customer's widget has it; and whether that widget is open.

A person's reply, the notices that a person joined, left or closed the chat, and what the bot says when a
person hands a chat back answer no customer message, so the widget's own resend cannot bring them back
after a closed tab. Each is stored here (``OutboundMessages.add``) before it is sent; the widget
acknowledges what it received (``mark_delivered``) and whatever it has not acknowledged is sent again, in
order, when it connects. Presence is counted in the database (sockets open per conversation, refreshed
while they stay open), so every web process and the console see the same thing.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

KINDS = ("reply", "joined", "left", "closed", "bot")
PRESENCE_FADES = dt.timedelta(seconds=90)  # three missed refreshes (every 30 s) and a socket counts as gone
_CHUNK = 500  # conversation ids per IN (...) query


def _aware(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    return moment.replace(tzinfo=dt.timezone.utc) if moment else None


@dataclass(frozen=True)
class OutboundMessage:
    id: int
    conversation_id: str
    kind: str
    sender_name: str
    via: str
    payload: Dict[str, Any]
    created_at: dt.datetime
    mailed_at: Optional[dt.datetime]
    delivered_at: Optional[dt.datetime]
    # On a messaging channel: the provider's tries so far, and the failure that ended them (issue 19)
    attempts: int = 0
    failed_at: Optional[dt.datetime] = None
    error: str = ""

    @classmethod
    def from_row(cls, row: RowMapping) -> "OutboundMessage":
        return cls(row["id"], row["conversation_id"], row["kind"], row["sender_name"], row["via"],
                   json.loads(row["payload"]), row["created_at"].replace(tzinfo=dt.timezone.utc),
                   _aware(row["mailed_at"]), _aware(row["delivered_at"]), int(row.get("attempts") or 0),
                   _aware(row.get("failed_at")), str(row.get("error") or ""))

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")

    def for_widget(self) -> Dict[str, Any]:
        """The widget's ``bot_uttered``: the payload, the id it acknowledges, and when it was written."""
        return {**self.payload, "delivery_id": self.id, "time": self.created_at.isoformat()}


class OutboundMessages:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, conversation_id: str, kind: str, payload: Dict[str, Any], sender_name: str = "",
            via: str = "chat") -> OutboundMessage:
        """Store a message for the customer (committed when this returns)."""
        if kind not in KINDS or via not in ("chat", "email"):
            raise ValueError(f"unknown kind {kind!r} or way {via!r}")
        with self.engine.begin() as connection:
            new_id = connection.execute(t.outbound_messages.insert().values(
                conversation_id=conversation_id, kind=kind, sender_name=sender_name[:100], via=via,
                payload=json.dumps(payload, ensure_ascii=False), created_at=naive_utc(self.clock()),
            )).inserted_primary_key[0]
        return self.get(new_id)

    def get(self, message_id: int) -> OutboundMessage:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.outbound_messages).where(
                t.outbound_messages.c.id == message_id)).mappings().one()
        return OutboundMessage.from_row(row)

    def withdraw(self, message_id: int) -> None:
        """It could not be sent the way it was meant (the mail failed): the person sees their text again and
        decides; the customer must not get it later from the chat as well."""
        with self.engine.begin() as connection:
            connection.execute(delete(t.outbound_messages).where(t.outbound_messages.c.id == message_id))

    def mark_mailed(self, message_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(t.outbound_messages).where(t.outbound_messages.c.id == message_id)
                               .values(mailed_at=naive_utc(self.clock())))

    def undelivered(self, conversation_ids: Iterable[str]) -> List[OutboundMessage]:
        """What these conversations' widgets have not acknowledged, oldest first; an email still being sent
        is not in it (it may yet be withdrawn)."""
        c = t.outbound_messages.c
        ids = sorted(set(conversation_ids))
        found: List[OutboundMessage] = []
        with self.engine.connect() as connection:
            for start in range(0, len(ids), _CHUNK):
                query = select(t.outbound_messages).where(
                    c.conversation_id.in_(ids[start:start + _CHUNK]), c.delivered_at.is_(None),
                    or_(c.via == "chat", c.mailed_at.is_not(None)))
                found += [OutboundMessage.from_row(row) for row in connection.execute(query).mappings()]
        return sorted(found, key=lambda m: m.id)

    def mark_delivered(self, conversation_id: str, message_ids: Sequence[int]) -> int:
        """The widget of ``conversation_id`` has these; ids of other conversations change nothing."""
        c = t.outbound_messages.c
        with self.engine.begin() as connection:
            return int(connection.execute(update(t.outbound_messages).where(
                c.conversation_id == conversation_id, c.id.in_(list(message_ids)), c.delivered_at.is_(None),
            ).values(delivered_at=naive_utc(self.clock()))).rowcount)

    def of_conversation(self, conversation_id: str) -> Dict[int, OutboundMessage]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.outbound_messages).where(
                t.outbound_messages.c.conversation_id == conversation_id)).mappings().all()
        return {row["id"]: OutboundMessage.from_row(row) for row in rows}

    def fingerprint(self, conversation_id: str) -> tuple:
        """Changes when a message is added, mailed, delivered, tried again or given up: the console's
        live page polls it."""
        c = t.outbound_messages.c
        with self.engine.connect() as connection:
            row = connection.execute(select(func.count(), func.max(c.id), func.count(c.delivered_at),
                                            func.count(c.mailed_at), func.count(c.failed_at),
                                            func.sum(c.attempts)).where(
                c.conversation_id == conversation_id)).one()
        return tuple(row)


@dataclass(frozen=True)
class Presence:
    connected: bool
    seen_at: Optional[dt.datetime]  # None: the widget never connected (or the chat is not a widget's)


class ChatPresence:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def opened(self, conversation_id: str) -> None:
        c, now = t.chat_presence.c, naive_utc(self.clock())
        # A count left from a process that died counts no longer once it faded: start again from one.
        fresh = and_(c.conversation_id == conversation_id, c.seen_at >= now - PRESENCE_FADES)
        with self.engine.begin() as connection:
            if connection.execute(update(t.chat_presence).where(fresh)
                                  .values(sockets=c.sockets + 1, seen_at=now)).rowcount:
                return
            if connection.execute(update(t.chat_presence).where(c.conversation_id == conversation_id)
                                  .values(sockets=1, seen_at=now)).rowcount:
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(t.chat_presence.insert().values(
                    conversation_id=conversation_id, sockets=1, seen_at=now))
        except IntegrityError:  # another process inserted it just now
            self.opened(conversation_id)

    def closed(self, conversation_id: str) -> None:
        c = t.chat_presence.c
        with self.engine.begin() as connection:
            connection.execute(update(t.chat_presence)
                               .where(c.conversation_id == conversation_id, c.sockets > 0)
                               .values(sockets=c.sockets - 1, seen_at=naive_utc(self.clock())))

    def still_open(self, conversation_ids: Iterable[str]) -> None:
        """Refresh the conversations whose sockets this process holds (called every 30 s)."""
        ids = sorted(set(conversation_ids))
        now = naive_utc(self.clock())
        with self.engine.begin() as connection:
            for start in range(0, len(ids), _CHUNK):
                connection.execute(update(t.chat_presence).where(
                    t.chat_presence.c.conversation_id.in_(ids[start:start + _CHUNK]),
                    t.chat_presence.c.sockets > 0).values(seen_at=now))

    def of(self, conversation_id: str) -> Presence:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.chat_presence).where(
                t.chat_presence.c.conversation_id == conversation_id)).mappings().first()
        if row is None:
            return Presence(False, None)
        seen = row["seen_at"].replace(tzinfo=dt.timezone.utc)
        return Presence(row["sockets"] > 0 and self.clock() - seen < PRESENCE_FADES, seen)
