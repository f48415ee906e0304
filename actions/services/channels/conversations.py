"""Who a messaging channel's conversation is with, and whether the platform still lets the shop write to them.

WhatsApp, Messenger and Instagram take a business's free-form messages only within 24 hours of the
customer's last message (their "customer service window"); Telegram has none. A person's reply may go later
where the shop has set it up (``LateReplies``): on Messenger and Instagram up to 7 days after, tagged
HUMAN_AGENT; on WhatsApp at any time, as an approved template. A conversation that is not in
``channel_conversations`` is the website's.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.database import insert_new

WEBSITE = "website"
WINDOWS: Dict[str, dt.timedelta] = {
    "whatsapp": dt.timedelta(hours=24),
    "messenger": dt.timedelta(hours=24),
    "instagram": dt.timedelta(hours=24),
}
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
HUMAN_AGENT_CHANNELS = frozenset({"messenger", "instagram"})
HUMAN_AGENT_TAG = "HUMAN_AGENT"
LABELS = {
    WEBSITE: "Website",
    "whatsapp": "WhatsApp",
    "messenger": "Messenger",
    "instagram": "Instagram",
    "telegram": "Telegram",
}
_CHUNK = 500
YES = ("1", "true", "yes", "on")  # a setting that is switched on


def reaches_back(channel: Optional[str], until: dt.datetime, now: dt.datetime,
                 late: Optional[LateReplies] = None) -> bool:
    """Whether a person can still write on ``channel`` at ``until`` to a customer who writes now: always on
    Telegram, within the window on WhatsApp, Messenger and Instagram (``late``: as the shop set up a person's
    late reply), never on the website (the widget may not be opened again)."""
    if channel not in LABELS or channel == WEBSITE:
        return False
    return ChannelConversation("", str(channel), "", "", now, []).window_open(until, late)


@dataclass(frozen=True)
class LateReplies:
    """How a person's reply may still reach the customer after the platform's 24 hours, as the shop has set
    up: Meta's HUMAN_AGENT tag on Messenger and Instagram (7 days; META_HUMAN_AGENT, once Meta gave the app
    the permission) and an approved WhatsApp message template (any time; WHATSAPP_REPLY_TEMPLATE)."""

    human_agent: bool = False
    whatsapp_template: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "LateReplies":
        """As the web server's settings read them (which refuse a bad value at its start)."""
        return cls((env.get("META_HUMAN_AGENT") or "").strip().lower() in YES,
                   (env.get("WHATSAPP_REPLY_TEMPLATE") or "").strip())


@dataclass(frozen=True)
class ChannelConversation:
    conversation_id: str
    channel: str
    address: str
    name: str
    last_inbound_at: dt.datetime  # aware, UTC
    offered: List[Dict[str, str]]  # buttons last sent as a numbered list

    @classmethod
    def from_row(cls, row: RowMapping) -> "ChannelConversation":
        offered = json.loads(row["offered"]) if row["offered"] else []
        return cls(
            row["conversation_id"],
            row["channel"],
            row["address"],
            row["name"] or "",
            row["last_inbound_at"].replace(tzinfo=dt.timezone.utc),
            offered,
        )

    @property
    def label(self) -> str:
        return LABELS.get(self.channel, self.channel)

    def window(self, late: Optional[LateReplies] = None) -> Optional[dt.timedelta]:
        """How long after the customer's last message the platform takes the shop's messages (None: any
        time); ``late``: for a person's reply, the ways the shop has to write after the 24 hours."""
        if late is not None and late.human_agent and self.channel in HUMAN_AGENT_CHANNELS:
            return HUMAN_AGENT_WINDOW
        if late is not None and late.whatsapp_template and self.channel == "whatsapp":
            return None
        return WINDOWS.get(self.channel)

    def window_words(self, late: Optional[LateReplies] = None, before_a_noun: bool = False) -> str:
        """The window as the console says it: "24 hours", "7 days" (before a noun: "24-hour", "7-day")."""
        window = self.window(late)
        if window is None:
            return "any time"
        hours = int(window.total_seconds() // 3600)
        number, unit = (window.days, "day") if window.days >= 2 else (hours, "hour")
        return f"{number}-{unit}" if before_a_noun else f"{number} {unit}s"

    def window_closes_at(self, late: Optional[LateReplies] = None) -> Optional[dt.datetime]:
        """When the platform stops taking the shop's messages; None: never (Telegram)."""
        window = self.window(late)
        return self.last_inbound_at + window if window else None

    def window_open(self, now: dt.datetime, late: Optional[LateReplies] = None) -> bool:
        closes = self.window_closes_at(late)
        return closes is None or now < closes

    def late_form(self, now: dt.datetime, late: Optional[LateReplies] = None) -> Tuple[str, str]:
        """How a person's reply must go now: (Meta's message tag, WhatsApp template); ("", "") within the
        24 hours, or when it cannot go at all."""
        if late is None or self.window_open(now) or not self.window_open(now, late):
            return "", ""
        if self.channel == "whatsapp":
            return "", late.whatsapp_template
        return HUMAN_AGENT_TAG, ""


def conversation_for(
    connection: Connection, channel: str, address: str, name: str, wrote_at: dt.datetime, now: dt.datetime
) -> str:
    """The conversation of this customer on this channel, made on their first message (a random id: the
    logs name conversations, and must not name phone numbers); their name and last message kept fresh."""
    c = t.channel_conversations.c
    connection.execute(
        insert_new(
            connection,
            t.channel_conversations,
            dict(
                conversation_id=uuid.uuid4().hex,
                channel=channel,
                address=address,
                name=name[:200],
                created_at=naive_utc(now),
                last_inbound_at=naive_utc(wrote_at),
            ),
        )
    )
    row = connection.execute(
        select(c.conversation_id, c.last_inbound_at).where(c.channel == channel, c.address == address)
    ).one()
    changes: Dict[str, Any] = {"last_inbound_at": max(row.last_inbound_at, naive_utc(wrote_at))}
    if name:
        changes["name"] = name[:200]
    connection.execute(
        update(t.channel_conversations).where(c.conversation_id == row.conversation_id).values(**changes)
    )
    return str(row.conversation_id)


class ChannelConversations:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def of(self, conversation_id: str) -> Optional[ChannelConversation]:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(t.channel_conversations).where(
                        t.channel_conversations.c.conversation_id == conversation_id
                    )
                )
                .mappings()
                .first()
            )
        return ChannelConversation.from_row(row) if row else None

    def channels_of(self, conversation_ids: Iterable[str]) -> Dict[str, str]:
        """Each conversation's channel ("website" for those not on a messaging channel)."""
        ids = sorted(set(conversation_ids))
        found = {conversation_id: WEBSITE for conversation_id in ids}
        c = t.channel_conversations.c
        with self.engine.connect() as connection:
            for start in range(0, len(ids), _CHUNK):
                found.update(
                    connection.execute(
                        select(c.conversation_id, c.channel).where(
                            c.conversation_id.in_(ids[start : start + _CHUNK])
                        )
                    ).all()
                )
        return found

    def all_channels(self) -> Dict[str, str]:
        """Every conversation on a messaging channel, with its channel: the figures split by it."""
        c = t.channel_conversations.c
        with self.engine.connect() as connection:
            return dict(connection.execute(select(c.conversation_id, c.channel)).all())

    def remember_offer(self, conversation_id: str, buttons: Sequence[Dict[str, str]]) -> None:
        """The buttons just sent as a numbered list (empty: none now), so that a typed number picks one."""
        c = t.channel_conversations.c
        with self.engine.begin() as connection:
            connection.execute(
                update(t.channel_conversations)
                .where(c.conversation_id == conversation_id)
                .values(offered=json.dumps(list(buttons)) if buttons else None)
            )
