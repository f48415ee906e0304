"""What a conversation page says about reaching the customer: is their chat open, did each message of a
person arrive (delivered, waiting, mailed), can email be sent at all, and what went wrong with the last
action, with the text the person typed kept for them. Plain text here; pages.py escapes and lays it out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from typing import Callable, Dict, Optional

from actions.services.chat_delivery import OutboundMessage, Presence

When = Callable[[Optional[dt.datetime]], str]  # a moment as the console shows it (the shop's time zone)
NO_MAIL = ("Email is not set up on this server (SMTP_HOST is not set), so this reply cannot be emailed "
           "to {email}. It goes into the chat instead: the customer sees it when they open the chat again "
           "on the shop's website. To be sure they get it, also write to them from your own email.")


@dataclass(frozen=True)
class DeliveryView:
    presence: Presence
    messages: Dict[int, OutboundMessage]  # the conversation's messages of a person, by delivery id
    mail_enabled: bool
    problem: str = ""  # why the last action failed (nothing was changed)
    drafts: Dict[str, str] = field(default_factory=dict)  # form (reply, email, chat-reply, note) -> its text

    def customer(self, when: When) -> str:
        if self.presence.connected:
            return "The customer's chat is open now: what you send arrives at once."
        if self.presence.seen_at is not None:
            return (f"The customer's chat is closed (last open {when(self.presence.seen_at)}): what you "
                    "send is kept and shown when they open it again.")
        return ("The customer is not in the chat window: what you send is kept and shown if they open the "
                "chat again.")

    def status(self, delivery_id: Optional[int], when: When) -> str:
        """A person's message: delivered, waiting or mailed ("" for messages without a delivery record)."""
        message = self.messages.get(delivery_id) if delivery_id is not None else None
        if message is None:
            return ""
        if message.via == "email":
            seen = f", seen in the chat {when(message.delivered_at)}" if message.delivered_at else ""
            return f"mailed {when(message.mailed_at)}{seen}"
        if message.delivered_at is not None:
            return f"delivered {when(message.delivered_at)}"
        if self.presence.connected:
            return "sending"
        return "waiting: shown when the customer opens the chat again"

    def no_mail(self, email: str) -> str:
        return NO_MAIL.format(email=email)


def presence_html(view: Optional[DeliveryView], when: When) -> str:
    """Whether the customer's chat is open now (and so whether a reply arrives at once)."""
    if view is None:
        return ""
    state = "open" if view.presence.connected else "closed"
    return f'<p class="presence {state}" data-presence="{state}">{escape(view.customer(when))}</p>'


def problem_html(view: Optional[DeliveryView], shown: str) -> str:
    """Why the last action failed, and what the person typed if no form on the page holds it any more."""
    if view is None or not view.problem:
        return ""
    lost = "".join(f'<label for="kept-{escape(k)}">Your text (not sent)</label>'
                   f'<textarea id="kept-{escape(k)}" rows="3" readonly>{escape(v)}</textarea>'
                   for k, v in view.drafts.items() if v and k not in shown.split())
    return f'<div class="error" role="alert"><p>{escape(view.problem)}</p>{lost}</div>'
