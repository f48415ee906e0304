"""A person's reply on WhatsApp, Messenger or Instagram after the platform's window has closed.

These platforms take a business's free-form messages only within 24 hours of the customer's last message.
After that the console sends a reply by email when one is known for the conversation and email is set up,
and says so; otherwise nothing is stored and the person is told why (they keep the text they typed).
Telegram has no window, and the website's widget keeps a reply until the customer comes back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Optional
from zoneinfo import ZoneInfo

from sanic.request import Request

from actions.services.channels.conversations import ChannelConversation, ChannelConversations

EMAILED = "emailed"  # the page's notice after a redirect: ?done=emailed


async def channel_of(request: Request, conversation_id: str) -> Optional[ChannelConversation]:
    """The conversation's messaging channel, or None for the website's widget (read off the event loop)."""
    return await asyncio.to_thread(ChannelConversations(request.app.ctx.engine).of, conversation_id)


def human_agent(request: Request) -> bool:
    """Whether Meta gave the shop's app the Human Agent permission (META_HUMAN_AGENT): then a person may
    reply on Messenger and Instagram for 7 days after the customer's last message."""
    return bool(request.app.ctx.settings.channels.meta_human_agent)


def window_closed(channel: Optional[ChannelConversation], human_agent: bool,
                  now: Optional[dt.datetime] = None) -> bool:
    """Whether the platform would refuse a person's reply now."""
    return channel is not None and not channel.window_open(now or dt.datetime.now(dt.timezone.utc),
                                                           human_agent)


def _closed_words(channel: ChannelConversation, zone: ZoneInfo, human_agent: bool) -> str:
    closes = channel.window_closes_at(human_agent)
    at = closes.astimezone(zone).strftime("%a %d %b %H:%M") if closes else ""
    return (
        f"{channel.label} allows replies only within {channel.window_words(human_agent)} of the customer's "
        f"last message (the window closed {at})."
    )


def refusal(channel: ChannelConversation, zone: ZoneInfo, email: str, mail_enabled: bool,
            human_agent: bool) -> str:
    """Why a reply cannot go by email instead ("" when it can)."""
    closed = _closed_words(channel, zone, human_agent)
    if not email:
        return f"{closed} No email is known for this customer, so nothing was sent."
    if not mail_enabled:
        return (
            f"{closed} Email is not set up on this server (SMTP_HOST is not set), "
            f"so nothing was sent: write to {email} from your own email."
        )
    return ""


def emailed_notice(channel: Optional[ChannelConversation], email: str, human_agent: bool) -> str:
    """What the page says after a reply went by email because the window had closed."""
    if channel is None or channel.window(human_agent) is None:
        return ""
    return (
        f"Your reply went by email to {email or 'the customer'}: {channel.label}'s "
        f"{channel.window_words(human_agent, before_a_noun=True)} window had closed, so {channel.label} "
        "would not have taken it."
    )
