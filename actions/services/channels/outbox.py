"""Sending to a messaging channel: what is due, in order per conversation, with retries and back-off.

Everything the customer of a channel conversation is to get is a row of ``outbound_messages`` (the bot's
answers, queued by ChannelInbox.finish; a person's replies and notices, queued by the console), sent by
whichever web process claims it first. A conversation's next message waits until the one before it was
delivered or given up, so the customer reads them in order. A passing failure is tried again after 2, 4, 8 …
seconds (at most five minutes apart, or when the provider asked); after MAX_TRIES, or at once for a refusal
that no retry mends (the 24-hour window closed, the customer blocked the bot), it is given up with the reason,
which the console shows.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import alias

from actions.services import order_tables as t
from actions.services.channels.conversations import ChannelConversation
from actions.services.chat_delivery import OutboundMessage
from actions.services.clock import Clock, naive_utc, utc_now

CLAIM_FOR = dt.timedelta(minutes=1)  # longer than a message's calls (an image and its text, 10 s each)
MAX_TRIES = 8  # about eight and a half minutes of back-off in all
MAX_BACKOFF_SECONDS = 300.0


PARTS_SENT = "parts_sent"  # kept in the message's payload between tries


def backoff_seconds(attempt: int) -> float:
    """The wait after failed try ``attempt`` (1, 2, …): doubling from 2 s, with a little jitter so that many
    messages failed together do not all come back at once."""
    return min(MAX_BACKOFF_SECONDS, 2.0**attempt) * random.uniform(0.9, 1.1)


@dataclass(frozen=True)
class PendingSend:
    message: OutboundMessage
    conversation: ChannelConversation
    attempt: int  # this try's number, from 1

    @property
    def parts_sent(self) -> int:
        """Of a message sent in parts (a photo, then its text), how many earlier tries sent."""
        parts = self.message.payload.get(PARTS_SENT)
        return parts if isinstance(parts, int) and parts > 0 else 0


class ChannelOutbox:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def claim_due(self, limit: int = 20) -> List[PendingSend]:
        now = naive_utc(self.clock())
        out, before = t.outbound_messages, alias(t.outbound_messages)
        c, conversations = out.c, t.channel_conversations
        waiting = and_(c.delivered_at.is_(None), c.failed_at.is_(None), c.via == "chat")
        first = ~exists().where(
            and_(
                before.c.conversation_id == c.conversation_id,
                before.c.delivered_at.is_(None),
                before.c.failed_at.is_(None),
                before.c.via == "chat",
                before.c.id < c.id,
            )
        )
        free = or_(c.claimed_until.is_(None), c.claimed_until < now)
        due = or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)
        query = (
            select(out, *[column.label(f"channel_{column.name}") for column in conversations.c])
            .join(conversations, conversations.c.conversation_id == c.conversation_id)
            .where(waiting, first, free, due)
            .order_by(c.id)
            .limit(limit)
        )
        claimed: List[PendingSend] = []
        with self.engine.begin() as connection:
            for row in connection.execute(query).mappings().all():
                taken = connection.execute(
                    update(out)
                    .where(c.id == row["id"], waiting, free)
                    .values(claimed_until=now + CLAIM_FOR, attempts=c.attempts + 1)
                ).rowcount
                if taken:
                    conversation = ChannelConversation.from_row(
                        {column.name: row[f"channel_{column.name}"] for column in conversations.c}
                    )
                    claimed.append(
                        PendingSend(
                            OutboundMessage.from_row(row), conversation, int(row["attempts"] or 0) + 1
                        )
                    )
        return claimed

    def delivered(self, message_id: int, provider_message_id: str = "") -> None:
        self._set(message_id, delivered_at=naive_utc(self.clock()), claimed_until=None, error=None,
                  provider_message_id=provider_message_id[:200] or None)

    def failed_later(self, channel: str, provider_message_id: str, error: str) -> Optional[str]:
        """The platform took the message, then reported it could not deliver it (WhatsApp's "failed"
        status, e.g. the 24-hour window): it counts as not delivered. Returns its conversation, if known."""
        c, conversations = t.outbound_messages.c, t.channel_conversations.c
        with self.engine.begin() as connection:
            row = connection.execute(
                select(c.id, c.conversation_id)
                .join(t.channel_conversations, conversations.conversation_id == c.conversation_id)
                .where(c.provider_message_id == provider_message_id[:200], conversations.channel == channel,
                       c.failed_at.is_(None))
            ).first()
            if row is None:
                return None
            connection.execute(update(t.outbound_messages).where(c.id == row.id).values(
                delivered_at=None, failed_at=naive_utc(self.clock()), error=error[:300]))
        return str(row.conversation_id)

    def failed(
        self,
        pending: PendingSend,
        error: str,
        retry: bool = False,
        retry_after: Optional[float] = None,
        parts_sent: int = 0,
    ) -> bool:
        """Record a failed try (``parts_sent``: of a message in parts, how many the platform has now);
        returns True if it is tried again."""
        now = self.clock()
        if retry and pending.attempt < MAX_TRIES:
            wait = max(retry_after or 0.0, backoff_seconds(pending.attempt))
            progress = (
                {"payload": json.dumps({**pending.message.payload, PARTS_SENT: parts_sent})}
                if parts_sent > pending.parts_sent
                else {}
            )
            self._set(
                pending.message.id,
                next_attempt_at=naive_utc(now + dt.timedelta(seconds=wait)),
                claimed_until=None,
                error=error[:300],
                **progress,
            )
            return True
        if retry:
            error = f"gave up after {pending.attempt} tries: {error}"
        self._set(pending.message.id, failed_at=naive_utc(now), claimed_until=None, error=error[:300])
        return False

    def _set(self, message_id: int, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(t.outbound_messages).where(t.outbound_messages.c.id == message_id).values(**values)
            )
