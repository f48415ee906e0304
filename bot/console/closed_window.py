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

from actions.services.channels.conversations import ChannelConversation, ChannelConversations, LateReplies

EMAILED = "emailed"  # the page's notice after a redirect: ?done=emailed


async def channel_of(request: Request, conversation_id: str) -> Optional[ChannelConversation]:
    """The conversation's messaging channel, or None for the website's widget (read off the event loop)."""
    return await asyncio.to_thread(ChannelConversations(request.app.ctx.engine).of, conversation_id)


def late_replies(request: Request) -> LateReplies:
    """How a person's reply may still go after a platform's 24 hours, as the shop set it up (Meta's Human
    Agent tag on Messenger and Instagram, a WhatsApp template)."""
    return request.app.ctx.settings.channels.late_replies


def window_closed(channel: Optional[ChannelConversation], late: LateReplies,
                  now: Optional[dt.datetime] = None) -> bool:
    """Whether the platform would refuse a person's reply now."""
    return channel is not None and not channel.window_open(now or dt.datetime.now(dt.timezone.utc),
                                                           late)


def _closed_words(channel: ChannelConversation, zone: ZoneInfo, late: LateReplies) -> str:
    closes = channel.window_closes_at(late)
    at = closes.astimezone(zone).strftime("%a %d %b %H:%M") if closes else ""
    return (
        f"{channel.label} allows replies only within {channel.window_words(late)} of the customer's "
        f"last message (the window closed {at})."
    )


def refusal(channel: ChannelConversation, zone: ZoneInfo, email: str, mail_enabled: bool,
            late: LateReplies) -> str:
    """Why a reply cannot go by email instead ("" when it can)."""
    closed = _closed_words(channel, zone, late)
    if not email:
        return f"{closed} No email is known for this customer, so nothing was sent."
    if not mail_enabled:
        return (
            f"{closed} Email is not set up on this server (SMTP_HOST is not set), "
            f"so nothing was sent: write to {email} from your own email."
        )
    return ""


def emailed_notice(channel: Optional[ChannelConversation], email: str, late: LateReplies) -> str:
    """What the page says after a reply went by email because the window had closed."""
    if channel is None or channel.window(late) is None:
        return ""
    return (
        f"Your reply went by email to {email or 'the customer'}: {channel.label}'s "
        f"{channel.window_words(late, before_a_noun=True)} window had closed, so {channel.label} "
        "would not have taken it."
    )
