"""What a conversation page says about reaching the customer: is their chat open (on a messaging channel:
who they are there and whether the platform still lets the shop write), did each message of a person arrive
(delivered, waiting, sending, not delivered, mailed), can email be sent at all, and what went wrong with the
last action, with the text the person typed kept for them. Plain text here; pages.py escapes and lays it out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from typing import Callable, Dict, Optional

from actions.services.channels.conversations import ChannelConversation, LateReplies
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
    channel: Optional[ChannelConversation] = None  # None: the website's widget
    contact_email: str = ""  # where a reply goes when the platform's window has closed
    now: Optional[dt.datetime] = None  # aware; None: the moment it is asked
    late: Optional[LateReplies] = None  # how a person's reply may still go after the 24 hours

    def reachable(self) -> bool:
        """Whether what a person sends in the chat can reach the customer now (a widget keeps it until they
        come back; a platform whose window closed refuses it)."""
        moment = self.now or dt.datetime.now(dt.timezone.utc)
        return self.channel is None or self.channel.window_open(moment, self.late)

    def customer(self, when: When) -> str:
        if self.channel is not None:
            return self._on_channel(when)
        if self.presence.connected:
            return "The customer's chat is open now: what you send arrives at once."
        if self.presence.seen_at is not None:
            return (f"The customer's chat is closed (last open {when(self.presence.seen_at)}): what you "
                    "send is kept and shown when they open it again.")
        return ("The customer is not in the chat window: what you send is kept and shown if they open the "
                "chat again.")

    def last_failure(self) -> str:
        """Why the platform did not take the conversation's latest message ("" when it did, or none was sent):
        a blocked bot, a deleted account. The window is said above it anyway."""
        latest = max(self.messages.values(), key=lambda m: m.id, default=None)
        if self.channel is None or latest is None or latest.failed_at is None:
            return ""
        if (latest.error or "").startswith("window_closed") and not self.reachable():
            return ""  # the line above says the window closed
        return latest.error or "refused"  # WhatsApp may count its window otherwise than we do: said too

    def _on_channel(self, when: When) -> str:
        text = self._channel_line(when)
        failure = self.last_failure()
        return f"{text} But the last message did not reach them: {failure}" if failure else text

    def _channel_line(self, when: When) -> str:
        assert self.channel is not None
        label, name = self.channel.label, self.channel.name.strip()
        who = f"On {label} as {name}" if name else f"On {label}"
        closes = self.channel.window_closes_at(self.late)
        if closes is None and self.late is not None and self.channel.window() is not None:
            return self._template_line(who, when)
        if closes is None:
            return f"{who}: what you send goes to their {label}, at any time."
        window = self.channel.window_words(self.late)
        if self.reachable():
            return (f"{who}: what you send goes to their {label}. {label} lets the shop write until "
                    f"{when(closes)} ({window} after their last message).")
        long = self.channel.window_words(self.late, before_a_noun=True)
        closed = f"{who}. {label}'s {long} window closed at {when(closes)}"
        if self.contact_email and self.mail_enabled:
            return f"{closed}: a reply can only go by email ({self.contact_email}), and it goes there."
        if self.contact_email:
            return (f"{closed}: a reply can only go by email ({self.contact_email}), but email is not set up "
                    f"on this server: write from your own email, or ask them to write again on {label}.")
        return f"{closed}, and no email is known: ask them to write again on {label}, or call them."

    def _template_line(self, who: str, when: When) -> str:
        """WhatsApp with the shop's approved template: free words within the 24 hours, the template after."""
        assert self.channel is not None and self.late is not None
        label, until = self.channel.label, self.channel.window_closes_at()
        template = f'your approved template "{self.late.whatsapp_template}"'
        if self.channel.window_open(self.now or dt.datetime.now(dt.timezone.utc)):
            return (f"{who}: what you send goes to their {label}; after {when(until)} (24 hours after their "
                    f"last message) it goes as {template}.")
        return f"{who}. {label}'s 24-hour window closed at {when(until)}: what you send goes as {template}."

    def status(self, delivery_id: Optional[int], when: When) -> str:
        """A person's message: delivered, waiting, sending, not delivered or mailed ("" for messages without
        a delivery record)."""
        message = self.messages.get(delivery_id) if delivery_id is not None else None
        if message is None:
            return ""
        if message.via == "email":
            seen = f", seen in the chat {when(message.delivered_at)}" if message.delivered_at else ""
            return f"mailed {when(message.mailed_at)}{seen}"
        if message.delivered_at is not None:
            return f"delivered {when(message.delivered_at)}"
        if message.failed_at is not None:
            return f"not delivered: {message.error or 'the platform refused it'}"
        if self.channel is not None:  # the channels' worker sends it to the provider, again after a failure
            return f"sending (try {message.attempts})" if message.attempts else "sending"
        if self.presence.connected:
            return "sending"
        return "waiting: shown when the customer opens the chat again"

    def no_mail(self, email: str) -> str:
        if self.channel is None:
            return NO_MAIL.format(email=email)
        label = self.channel.label
        head = ("Email is not set up on this server (SMTP_HOST is not set), so this reply cannot be emailed "
                f"to {email}.")
        if self.reachable():
            return f"{head} It goes to their {label} instead."
        return (f"{head} {label} no longer takes the shop's messages either: write to them from your own "
                "email.")


def presence_html(view: Optional[DeliveryView], when: When) -> str:
    """Whether the customer's chat is open now (and so whether a reply arrives at once)."""
    if view is None:
        return ""
    reaches = view.reachable() and not view.last_failure() if view.channel is not None \
        else view.presence.connected
    state = "open" if reaches else "closed"
    return f'<p class="presence {state}" data-presence="{state}">{escape(view.customer(when))}</p>'


def problem_html(view: Optional[DeliveryView], shown: str) -> str:
    """Why the last action failed, and what the person typed if no form on the page holds it any more."""
    if view is None or not view.problem:
        return ""
    lost = "".join(f'<label for="kept-{escape(k)}">Your text (not sent)</label>'
                   f'<textarea id="kept-{escape(k)}" rows="3" readonly>{escape(v)}</textarea>'
                   for k, v in view.drafts.items() if v and k not in shown.split())
    return f'<div class="error" role="alert"><p>{escape(view.problem)}</p>{lost}</div>'
