"""What the customer asked while a person had the chat and nobody answered it.

While a person owns a conversation the bot stays silent, so a question typed then (after the person's last
word) is still open when the person hands the chat back. The bot answers it first and asks for a rating
only at the end. Used by the action that says the bot is back and by the console that replays the question;
events come in as ("user" | "bot", text) pairs so both Rasa's and rasa-sdk's events fit.
"""
from __future__ import annotations

from typing import Iterable, Optional, Tuple


def pending_question(said: Iterable[Tuple[str, str]]) -> Optional[str]:
    """The customer's last typed message after the last thing said to them; None if it was answered."""
    pending: Optional[str] = None
    for who, text in said:
        if who == "bot":
            pending = None
        elif who == "user" and text and not text.startswith("/"):  # a button or the widget opening
            pending = text
    return pending
