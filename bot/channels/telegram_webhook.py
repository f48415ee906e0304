"""Telegram's webhook: the proof an update comes from Telegram, and the customer message in it.

Telegram sends the secret token given to setWebhook back in ``X-Telegram-Bot-Api-Secret-Token`` on every
update; it is compared in constant time and an update without it is refused. (Rasa's Telegram channel
authenticated nothing: it called getMe on every message and compared names, which anyone can copy.) The
bot serves private chats; a group's messages and other updates are not customers writing to the shop.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import replace
from typing import Any, Dict, Optional

from actions.services.channels.inbox import Inbound
from bot.channels.webhook_json import as_dict, as_list, moment

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_OTHER_KINDS = (
    ("voice", "a voice message"),
    ("audio", "a voice message"),
    ("video", "a video"),
    ("video_note", "a video"),
    ("sticker", "a sticker"),
    ("document", "a document"),
    ("location", "a location"),
    ("contact", "a contact card"),
    ("animation", "a GIF"),
)


def secret_valid(expected: str, header: Optional[str]) -> bool:
    return bool(expected) and header is not None and hmac.compare_digest(header.encode(), expected.encode())


def telegram_message(update: Dict[str, Any]) -> Optional[Inbound]:
    """The customer message of one update (Telegram sends one update per request), or None."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        return None
    provider_id = str(update_id)  # unique per bot, and what Telegram repeats when it retries
    callback = as_dict(update.get("callback_query"))
    if callback:
        chat = as_dict(as_dict(callback.get("message")).get("chat"))
        if chat.get("type") != "private" or not callback.get("data"):
            return None
        return Inbound(
            provider_id,
            str(chat.get("id")),
            name=_name(as_dict(callback.get("from"))),
            tap=str(callback["data"]),
            ack=str(callback.get("id") or ""),
            sent_at=dt.datetime.now(dt.timezone.utc),
        )
    message = as_dict(update.get("message"))
    chat = as_dict(message.get("chat"))
    if not message or chat.get("type") != "private" or chat.get("id") is None:
        return None
    common = Inbound(provider_id, str(chat["id"]), name=_name(as_dict(message.get("from"))),
                     sent_at=moment(message.get("date")))
    photos = [as_dict(p) for p in as_list(message.get("photo"))]
    if photos:  # sizes, smallest first: the largest that is still a reasonable download
        usable = [p for p in photos if int(p.get("file_size") or 0) <= 5 * 1024 * 1024] or photos[:1]
        return replace(common, photo=str(usable[-1].get("file_id") or ""),
                       text=str(message.get("caption") or ""))
    if isinstance(message.get("text"), str):
        text = message["text"]
        return replace(common, text="hello" if text.strip() == "/start" else text)
    other = next((words for key, words in _OTHER_KINDS if key in message), "a message")
    return replace(common, other=other)


def _name(person: Dict[str, Any]) -> str:
    return " ".join(str(person.get(key)) for key in ("first_name", "last_name") if person.get(key))
