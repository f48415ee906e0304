"""What the providers' webhooks brought, kept until the bot has handled it.

A webhook stores its messages here and answers the provider at once; the bot's work goes on after. The
provider's message id is unique per channel, so a delivery the provider retries (it did not hear our answer
in time) is a duplicate and is dropped. A message is handled once its answers are queued for sending
(``finish``, one transaction with them), so a web process that dies half-way leaves it to be taken up again
by any process; the messages of one conversation are taken one at a time, in order.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import alias

from actions.services import order_tables as t
from actions.services.channels.conversations import conversation_for
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.database import insert_new

# A process renews its claims while it works on them (every RENEW_SECONDS), so a turn may take as long as it
# needs, and the messages of a process that died are free for the others CLAIM_FOR after its last renewal.
CLAIM_FOR = dt.timedelta(seconds=30)
RENEW_SECONDS = 10.0
MAX_ATTEMPTS = 5  # a message that failed this often (a turn that keeps raising) is answered with an apology


@dataclass(frozen=True)
class Inbound:
    """One customer message as a webhook brought it."""

    provider_message_id: str
    address: str  # whom to answer: WhatsApp id, page-scoped id, Telegram chat id
    name: str = ""  # the customer's name on the platform
    text: str = ""
    tap: str = ""  # the payload of a button the customer tapped
    photo: str = ""  # the provider's reference to a photo: media id, file id or URL
    other: str = ""  # something the bot cannot read: "a voice message", "a sticker"
    ack: str = ""  # what the client's acknowledge() takes: a callback query's id, a message id
    sent_at: Optional[dt.datetime] = None  # when the customer sent it (aware), if the provider says


@dataclass(frozen=True)
class InboxItem:
    id: int
    channel: str
    conversation_id: str
    message: Inbound
    attempts: int


class ChannelInbox:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def accept(self, channel: str, messages: Sequence[Inbound]) -> Tuple[int, int]:
        """Store a webhook's messages (committed on return); returns (new, duplicates)."""
        now = self.clock()
        new = 0
        with self.engine.begin() as connection:
            for message in messages:
                conversation_id = conversation_for(
                    connection, channel, message.address, message.name, min(message.sent_at or now, now), now
                )
                payload = {k: v for k, v in asdict(message).items() if v and k != "sent_at"}
                new += connection.execute(
                    insert_new(
                        connection,
                        t.channel_inbox,
                        dict(
                            channel=channel,
                            provider_message_id=message.provider_message_id[:200],
                            conversation_id=conversation_id,
                            payload=json.dumps(payload, ensure_ascii=False),
                            received_at=naive_utc(now),
                            attempts=0,
                        ),
                    )
                ).rowcount
        return new, len(messages) - new

    def claim(self, limit: int = 10) -> List[InboxItem]:
        """Messages to handle now: per conversation the oldest not handled, if no process holds it."""
        now = naive_utc(self.clock())
        inbox, earlier = t.channel_inbox, alias(t.channel_inbox)
        c = inbox.c
        free = or_(c.claimed_until.is_(None), c.claimed_until < now)
        first = ~exists().where(
            and_(
                earlier.c.conversation_id == c.conversation_id,
                earlier.c.handled_at.is_(None),
                earlier.c.id < c.id,
            )
        )
        claimed: List[InboxItem] = []
        with self.engine.begin() as connection:
            rows = (
                connection.execute(
                    select(inbox).where(c.handled_at.is_(None), free, first).order_by(c.id).limit(limit)
                )
                .mappings()
                .all()
            )
            for row in rows:
                taken = connection.execute(
                    update(inbox)
                    .where(c.id == row["id"], c.handled_at.is_(None), free)
                    .values(claimed_until=now + CLAIM_FOR, attempts=c.attempts + 1)
                ).rowcount
                if taken:
                    claimed.append(
                        InboxItem(
                            row["id"],
                            row["channel"],
                            row["conversation_id"],
                            Inbound(**json.loads(row["payload"])),
                            row["attempts"] + 1,
                        )
                    )
        return claimed

    def finish(self, item: InboxItem, replies: Sequence[Dict[str, Any]]) -> List[int]:
        """The bot's answers to ``item`` go into the sending queue and ``item`` is handled, together;
        returns the queued messages' ids."""
        now = naive_utc(self.clock())
        ids: List[int] = []
        with self.engine.begin() as connection:
            for reply in replies:
                ids.append(
                    connection.execute(
                        t.outbound_messages.insert().values(
                            conversation_id=item.conversation_id,
                            kind="bot",
                            sender_name="",
                            via="chat",
                            payload=json.dumps(reply, ensure_ascii=False),
                            created_at=now,
                            attempts=0,
                        )
                    ).inserted_primary_key[0]
                )
            # What they wrote is in the conversation now; the row keeps only the provider's id, which makes a
            # late retry of the same delivery a duplicate.
            connection.execute(
                update(t.channel_inbox)
                .where(t.channel_inbox.c.id == item.id)
                .values(handled_at=now, claimed_until=None, payload="{}")
            )
        return ids

    def later(self, item: InboxItem, seconds: float) -> None:
        """Not handled now (the server is busy, the database hiccuped): taken up again after ``seconds``."""
        until = naive_utc(self.clock()) + dt.timedelta(seconds=seconds)
        with self.engine.begin() as connection:
            connection.execute(
                update(t.channel_inbox).where(t.channel_inbox.c.id == item.id).values(claimed_until=until)
            )

    def renew(self, item_ids: Sequence[int]) -> None:
        """This process still works on these messages: nobody else takes them for another CLAIM_FOR."""
        until = naive_utc(self.clock()) + CLAIM_FOR
        c = t.channel_inbox.c
        with self.engine.begin() as connection:
            connection.execute(update(t.channel_inbox).where(c.id.in_(list(item_ids)), c.handled_at.is_(None))
                               .values(claimed_until=until))
