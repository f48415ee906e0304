"""What every channel checks in a customer message before the bot sees it."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeGuard

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import response
from sanic.response import HTTPResponse

from actions.services.database import DATABASE_UNAVAILABLE
from bot.lock_store import LockStoreUnavailable

DEFAULT_MAX_CHARS = 2000
MAX_SENDER_CHARS = 128
MAX_METADATA_DEPTH = 10  # a page, a campaign: flat in practice; 900 levels would reach Rasa's deep copies
_SENDER = re.compile(r"[A-Za-z0-9_.:@-]+")
# The widget's conversation id, minted by the socket.io channel: 128 random bits in hex. Checked with
# fullmatch: "$" would let a trailing newline through, into folder names and conversation ids.
SESSION_ID = re.compile(r"[0-9a-f]{32}")


def is_session_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (counted without recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _storable(value: Any) -> bool:
    """False for text holding a lone surrogate (JSON's "\\ud800", or raw bytes ED A0 80 that a lenient
    decoder let through): not a character, and nothing downstream can encode it."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused: a machine-readable code, a sentence for people, an HTTP status."""

    error: str
    detail: str
    status: int = 400

    def as_json(self) -> Dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


def refuse(status: int, error: str, detail: str) -> HTTPResponse:
    """Bad input answered as every route answers it: the status, and {"error": code, "detail": sentence}."""
    return response.json(Rejection(error, detail, status).as_json(), status=status)


RETRY_AFTER_SECONDS = 5
DATABASE_BUSY = Rejection("database_busy",
                          "Sorry, I couldn't save that just now. Please try again in a moment.", 503)
LOCK_STORE_BUSY = Rejection("lock_store_unavailable",
                            "Sorry, I can't take messages for a moment. Please try again shortly.", 503)
# A turn that failed for one of these was not stored (nor, for the lock, even begun): the channel answers
# 503 with the reason, and the same message may be sent again.
NOT_STORED = (*DATABASE_UNAVAILABLE, LockStoreUnavailable)


TrackerLookup = Callable[[str], Awaitable[Optional[DialogueStateTracker]]]


def replies_after(tracker: DialogueStateTracker, message_id: str) -> List[Dict[str, Any]] | None:
    """The bot's answers to the user message ``message_id``; None if the conversation lacks it."""
    replies: List[Dict[str, Any]] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif isinstance(event, BotUttered) and replies is not None:
            replies.append(event.message())
    return replies


def not_stored_rejection(error: BaseException) -> Rejection:
    return LOCK_STORE_BUSY if isinstance(error, LockStoreUnavailable) else DATABASE_BUSY


def check_text(text: Any, max_chars: int = DEFAULT_MAX_CHARS) -> Rejection | None:
    if text is None:
        return Rejection("missing_message", "The request needs a 'message' field with the customer's text.")
    if not isinstance(text, str):
        return Rejection("invalid_message", "'message' must be a string.")
    if not text.strip():
        return Rejection("empty_message", "The message is empty.")
    if len(text) > max_chars:
        return Rejection("message_too_long",
                         f"The message has {len(text)} characters; the limit is {max_chars}.", 413)
    if "\x00" in text:
        return Rejection("invalid_message", "The message contains a NUL character.")
    if not _storable(text):
        return Rejection("invalid_message", "The message is not valid Unicode text (a lone surrogate).")
    return None


def check_sender(sender: Any) -> Rejection | None:
    if sender is None:
        return Rejection("missing_sender", "The request needs a 'sender' field naming the conversation.")
    if not isinstance(sender, str) or not sender or len(sender) > MAX_SENDER_CHARS \
            or not _SENDER.fullmatch(sender):
        return Rejection("invalid_sender",
                         f"'sender' must be 1–{MAX_SENDER_CHARS} letters, digits or _ . : @ -.")
    return None


_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def check_message_id(message_id: Any) -> Rejection | None:
    """A client's id for its message (optional): the same id again is the same message, sent again."""
    if message_id is None or (isinstance(message_id, str) and _MESSAGE_ID.fullmatch(message_id)):
        return None
    return Rejection("invalid_message_id", "message_id must be 8-64 letters, digits, - or _.")


def check_metadata(metadata: Any) -> Rejection | None:
    if metadata is not None and not isinstance(metadata, dict):
        return Rejection("invalid_metadata", "'metadata' must be a JSON object.")
    if _depth(metadata) > MAX_METADATA_DEPTH:
        return Rejection("invalid_metadata", f"'metadata' nests more than {MAX_METADATA_DEPTH} levels deep.")
    if not _storable(metadata):
        return Rejection("invalid_metadata", "'metadata' is not valid Unicode text (a lone surrogate).")
    return None
