"""What the messaging channels send, and the shape every provider's client shares.

The bot's answers and a person's replies reach WhatsApp, Messenger, Instagram and Telegram as an
``Outgoing``: text, the buttons offered, an image. Each provider's client (whatsapp_api.py,
meta_send_api.py, telegram_api.py) renders it the way its platform allows (reply buttons, a list, quick
replies, an inline keyboard, or a numbered list where none fits) and says how it went in a ``Delivery``:
sent, worth trying again (and when), or refused for good (with the reason the console shows).
"""
from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple

from bot.channels.channel_settings import ChannelSettings


@dataclass(frozen=True)
class Button:
    title: str
    payload: str  # what a tap sends back: "/affirm", '/inform{"choice": "order"}'


@dataclass(frozen=True)
class Outgoing:
    text: str = ""
    buttons: Tuple[Button, ...] = ()
    image: str = ""  # an absolute https URL
    tag: str = ""  # Meta's message tag: HUMAN_AGENT for a person's reply past the 24 hours
    template: str = ""  # WhatsApp: a person's reply past the 24 hours goes as this approved template

    @classmethod
    def from_message(cls, message: Dict[str, Any], public_url: str = "") -> "Outgoing":
        """A message as Rasa's output channels are given it, or a person's reply as the console stores it:
        a person's words carry their name, so the customer knows a person is writing."""
        text = str(message.get("text") or "")
        sender = message.get("sender") or {}
        if isinstance(sender, dict) and sender.get("type") == "person" and not message.get("notice") and text:
            text = f"{sender.get('name') or 'The shop'}: {text}"
        raw = message.get("buttons") or message.get("quick_replies") or []
        buttons = tuple(Button(str(b.get("title") or ""), str(b.get("payload") or ""))
                        for b in raw if isinstance(b, dict) and b.get("title") and b.get("payload"))
        image = str(message.get("image") or "")
        if image.startswith("/") and public_url:
            image = public_url.rstrip("/") + image
        return cls(text, buttons, image if image.startswith(("https://", "http://")) else "")


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str = ""  # why it failed, for the console and the log: never the customer's words or contact
    retry: bool = False  # a passing failure (5xx, rate limit, network): send it again later
    retry_after: Optional[float] = None  # seconds the provider asked us to wait, if it said
    window_closed: bool = False  # refused: the customer's last message is older than the platform allows
    numbered: bool = False  # the buttons went as a numbered list: a typed "2" means the second
    provider_message_id: str = ""  # the platform's id for it (WhatsApp reports a later failure by it)
    # Of a message sent in parts (a photo, then its text with buttons): how many the platform took before
    # one failed. The next try sends only the rest, so the customer does not get the photo twice.
    parts_sent: int = 0


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str


class MediaError(Exception):
    """A customer's photo could not be fetched from the provider."""


@dataclass(frozen=True)
class CheckResult:
    reachable: bool
    detail: str  # "WhatsApp number +44 7700 900000 (Kettle & Crumb)", or what went wrong
    warnings: Tuple[str, ...] = field(default_factory=tuple)


def shortened(buttons: Sequence[Button], limit: int) -> Optional[Tuple[Button, ...]]:
    """The buttons with titles longer than ``limit`` cut to it ("Returns & refunds po…"), so that a platform's
    own buttons still fit; None when the cut titles would no longer tell the buttons apart."""
    cut = tuple(b if len(b.title) <= limit else Button(b.title[: limit - 1].rstrip() + "…", b.payload)
                for b in buttons)
    return cut if len({b.title for b in cut}) == len(cut) else None


def numbered_text(text: str, buttons: Sequence[Button]) -> str:
    """The buttons as a numbered list under the text, for platforms (or messages) where buttons do not fit.
    Choices that are numbers themselves (a 0-10 scale) are not numbered again: "Reply with 0, 1, … or 10";
    the channel reads a choice's own words before its number."""
    numeric = [b.title.strip() for b in buttons if b.title.strip().isdigit()]
    if numeric:
        others = [f'"{b.title}"' for b in buttons if not b.title.strip().isdigit()]
        choices = ", ".join(numeric[:-1]) + f" or {numeric[-1]}" if len(numeric) > 1 else numeric[0]
        if others:
            choices = f"{', '.join(numeric)}, or {' or '.join(others)}"
        return f"{text}\n\nReply with {choices}." if text else f"Reply with {choices}."
    lines = [f"{number}. {button.title}" for number, button in enumerate(buttons, start=1)]
    hint = "Reply with the number of your choice."
    return "\n".join([text, "", *lines, "", hint] if text else [*lines, "", hint])


class ChannelClient(abc.ABC):
    channel: ClassVar[str]
    # WhatsApp, Messenger and Instagram take free-form messages only within 24 hours of the customer's last
    # message; Telegram has no such window.
    window: ClassVar[Optional[dt.timedelta]] = None

    def __init__(self, settings: ChannelSettings, timeout_seconds: float = 10.0) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds

    @abc.abstractmethod
    async def send(self, address: str, message: Outgoing, skip: int = 0) -> Delivery:
        """Send one message to the customer at ``address`` (WhatsApp id, page-scoped id, chat id), but for
        the first ``skip`` of its parts, which an earlier try sent."""

    @abc.abstractmethod
    async def fetch_media(self, ref: str) -> Media:
        """The bytes of a photo the customer sent (a media id, a file id or a URL); raises MediaError."""

    async def acknowledge(self, ref: str) -> None:
        """Tell the platform a message was taken (a Telegram button's spinner stops; WhatsApp shows it read).
        Best effort: never raises."""
        return None

    async def typing(self, address: str, ref: str) -> None:
        """Acknowledge the message and show the customer an answer is being written ("typing…"); only when
        the bot is about to answer, as the platforms ask. Best effort: never raises."""
        await self.acknowledge(ref)

    @abc.abstractmethod
    async def check(self) -> CheckResult:
        """Whether the provider answers with these credentials, and who we are there."""

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        return None
