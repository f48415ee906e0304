"""What every channel checks in a customer message before the bot sees it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict

DEFAULT_MAX_CHARS = 2000
MAX_SENDER_CHARS = 128
_SENDER = re.compile(r"^[A-Za-z0-9_.:@-]+$")


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused: a machine-readable code, a sentence for people, an HTTP status."""

    error: str
    detail: str
    status: int = 400

    def as_json(self) -> Dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


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
    return None


def check_sender(sender: Any) -> Rejection | None:
    if sender is None:
        return Rejection("missing_sender", "The request needs a 'sender' field naming the conversation.")
    if not isinstance(sender, str) or not sender or len(sender) > MAX_SENDER_CHARS \
            or not _SENDER.match(sender):
        return Rejection("invalid_sender",
                         f"'sender' must be 1–{MAX_SENDER_CHARS} letters, digits or _ . : @ -.")
    return None


def check_metadata(metadata: Any) -> Rejection | None:
    if metadata is not None and not isinstance(metadata, dict):
        return Rejection("invalid_metadata", "'metadata' must be a JSON object.")
    return None
