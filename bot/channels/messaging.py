"""The webhooks of WhatsApp, Messenger, Instagram and Telegram, on Rasa's InputChannel interface.

A webhook checks that the request comes from the provider (401 without a proof, 403 with a wrong one:
nothing is read or stored), reads every message of the batch, stores them in the channel inbox (the
provider's message id makes a retried delivery a duplicate) and answers 200 at once: the providers retry,
or give up on a webhook, that answers slowly. The ChannelWorker (channel_worker.py) then lets the bot
answer each message and sends the answers through the provider's API. A database that cannot store the
messages gets 503, so the provider sends them again later.
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, ClassVar, Dict, List, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.channels.inbox import ChannelInbox, Inbound
from actions.services.database import DATABASE_UNAVAILABLE
from bot.channels.channel_settings import ChannelSettings
from bot.channels.messages import refuse
from bot.channels.meta_webhooks import (
    SIGNATURE_HEADER,
    handshake,
    messaging_events,
    signature_valid,
    whatsapp_failures,
    whatsapp_messages,
)
from bot.channels.telegram_webhook import SECRET_HEADER, secret_valid, telegram_message

logger = logging.getLogger(__name__)
Handler = Callable[[UserMessage], Awaitable[Any]]


class MessagingInput(InputChannel, abc.ABC):
    """One provider's webhook. Made from the channel settings by ``messaging_channels``."""

    channel: ClassVar[str]

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        self.inbox: Optional[ChannelInbox] = None  # set by the app once the database is open
        self.wake: Callable[[], None] = lambda: None  # set by the app: the worker takes the new messages
        self.on_new_message: Optional[Handler] = None  # the app's handler, kept for the worker
        # Set by the app: a message the platform took and later reported undelivered (channel, its id, why).
        self.on_failure: Optional[Callable[[str, str, str], None]] = None

    @classmethod
    def name(cls) -> str:
        return cls.channel

    @abc.abstractmethod
    def refusal(self, request: Request) -> Optional[HTTPResponse]:
        """401/403 when the request does not prove it comes from the provider; None when it does."""

    @abc.abstractmethod
    def messages(self, body: Dict[str, Any]) -> List[Inbound]:
        """The customer messages in a verified webhook body."""

    def failures(self, body: Dict[str, Any]) -> List[Tuple[str, str]]:
        """Messages of ours the platform reports it could not deliver: (its id for them, why)."""
        return []

    def handshake(self, request: Request) -> HTTPResponse:
        return refuse(405, "method_not_allowed", "This webhook takes POST requests.")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self.on_new_message = on_new_message
        webhook = Blueprint(f"{self.channel}_webhook", __name__)

        @webhook.route("/webhook", methods=["GET"])
        async def subscribe(request: Request) -> HTTPResponse:
            return self.handshake(request)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refused = self.refusal(request)
            if refused is not None:
                logger.warning(
                    "Refused a %s webhook from %s: %s",
                    self.channel,
                    request.ip or "?",
                    json.loads(refused.body or b"{}").get("error"),
                )
                return refused
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError, RecursionError):
                return refuse(400, "invalid_json", "The webhook body is not valid JSON.")
            if not isinstance(body, dict):
                return refuse(400, "invalid_json", "The webhook body must be a JSON object.")
            failures = self.failures(body)
            if failures and self.on_failure is not None:
                try:
                    for provider_id, why in failures:
                        await asyncio.to_thread(self.on_failure, self.channel, provider_id, why)
                except DATABASE_UNAVAILABLE as error:
                    logger.error(
                        "A %s delivery failure was not recorded (the database is unavailable: %s)",
                        self.channel,
                        error,
                    )
                    return refuse(503, "database_busy", "The statuses could not be stored; send them again.")
            messages = [m for m in self.messages(body) if m.provider_message_id and m.address]
            if not messages:
                return response.json({"status": "ok", "new": 0, "duplicates": 0})
            if self.inbox is None:
                return refuse(503, "starting", "The server is starting; send it again shortly.")
            try:
                new, duplicates = await asyncio.to_thread(self.inbox.accept, self.channel, messages)
            except DATABASE_UNAVAILABLE as error:  # not stored: the provider sends it again later
                logger.error(
                    "A %s webhook's %d messages were not stored (the database is unavailable: %s)",
                    self.channel,
                    len(messages),
                    error,
                )
                return refuse(503, "database_busy", "The messages could not be stored; send them again.")
            if duplicates:
                logger.info(
                    "A %s webhook brought %d message(s) already received (the provider retried)",
                    self.channel,
                    duplicates,
                )
            if new:
                self.wake()
            return response.json({"status": "ok", "new": new, "duplicates": duplicates})

        return webhook


class MetaInput(MessagingInput):
    """Meta's webhooks share the app secret, the verify token and the handshake."""

    def refusal(self, request: Request) -> Optional[HTTPResponse]:
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return refuse(401, "signature_missing", f"The request has no {SIGNATURE_HEADER} header.")
        if not signature_valid(self.settings.meta_app_secret, request.body or b"", header):
            return refuse(403, "signature_invalid", f"{SIGNATURE_HEADER} does not match the body.")
        return None

    def handshake(self, request: Request) -> HTTPResponse:
        challenge = handshake(request.args, self.settings.meta_verify_token)
        if challenge is None:
            logger.warning("Refused a %s webhook subscription: wrong or missing verify token", self.channel)
            return refuse(403, "verify_token_invalid", "hub.mode or hub.verify_token is not right.")
        return response.text(challenge)


class WhatsAppInput(MetaInput):
    channel = "whatsapp"

    def messages(self, body: Dict[str, Any]) -> List[Inbound]:
        if body.get("object") != "whatsapp_business_account":
            return []
        return whatsapp_messages(body, self.settings.whatsapp_phone_number_id)

    def failures(self, body: Dict[str, Any]) -> List[Tuple[str, str]]:
        if body.get("object") != "whatsapp_business_account":
            return []
        return whatsapp_failures(body, self.settings.whatsapp_phone_number_id)


class MessengerInput(MetaInput):
    channel = "messenger"

    def messages(self, body: Dict[str, Any]) -> List[Inbound]:
        return messaging_events(body) if body.get("object") == "page" else []


class InstagramInput(MetaInput):
    channel = "instagram"

    def messages(self, body: Dict[str, Any]) -> List[Inbound]:
        return messaging_events(body) if body.get("object") == "instagram" else []


class TelegramInput(MessagingInput):
    channel = "telegram"

    def refusal(self, request: Request) -> Optional[HTTPResponse]:
        header = request.headers.get(SECRET_HEADER)
        if header is None:
            return refuse(401, "secret_token_missing", f"The request has no {SECRET_HEADER} header.")
        if not secret_valid(self.settings.telegram_secret_token, header):
            return refuse(403, "secret_token_invalid", f"{SECRET_HEADER} is not this bot's secret token.")
        return None

    def messages(self, body: Dict[str, Any]) -> List[Inbound]:
        message = telegram_message(body)
        return [message] if message is not None else []


INPUTS = {cls.channel: cls for cls in (WhatsAppInput, MessengerInput, InstagramInput, TelegramInput)}


def messaging_channels(settings: ChannelSettings) -> List[MessagingInput]:
    """The webhooks of the channels whose settings are all set (none is on without its secret)."""
    return [INPUTS[name](settings) for name in settings.enabled]
