"""REST channel at /webhooks/rest/webhook, answering errors with 4xx/5xx and a JSON body.

Rasa's own RestInput answers 200 with an empty list when processing fails; a client could not
tell a silent bot from a broken one. Here bad input is refused before the agent sees it.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.action_calls import ACTION_SERVER_UNAVAILABLE
from bot.admission import BUSY, BUSY_REJECTION, BUSY_RETRY_AFTER_SECONDS
from bot.channels.client_keys import ClientKeys, with_client_key
from bot.channels.messages import (
    DEFAULT_MAX_CHARS,
    NOT_STORED,
    RETRY_AFTER_SECONDS,
    Rejection,
    TrackerLookup,
    check_message_id,
    check_metadata,
    check_sender,
    check_text,
    not_stored_rejection,
    replies_after,
)
from bot.console.forwarded import client_address
from bot.never_silent import ACTION_SERVER_DOWN
from bot.person_gate import WITH_PERSON

logger = logging.getLogger(__name__)


def rejection_response(rejection: Rejection) -> HTTPResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if rejection.status == 503 else None
    return response.json(rejection.as_json(), status=rejection.status, headers=headers)


def _as_collected(recipient_id: str, reply: Dict[str, Any]) -> Dict[str, Any]:
    """A stored answer in the shape CollectingOutputChannel gave it the first time."""
    collected = {key: reply[key] for key in _COLLECTED if reply.get(key) is not None}
    if reply.get("quick_replies") and "buttons" not in collected:  # Rasa sends quick replies as buttons
        collected["buttons"] = reply["quick_replies"]
    return {"recipient_id": recipient_id, **collected}


_COLLECTED = ("text", "image", "buttons", "attachment", "custom")


class ValidatingRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        return cls(int((credentials or {}).get("max_message_chars", DEFAULT_MAX_CHARS)))

    def __init__(self, max_message_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.max_message_chars = max_message_chars
        # Set by the app at start (the server's secret); without it no client key is sent, nor the client's.
        self.client_keys: ClientKeys | None = None
        # Set by the app once the agent is loaded: a message sent again with its message_id and "resent": true
        # (its answer was lost: a timeout, a web process that died) gets the answers it had if the
        # conversation holds it, not a second turn; as the widget's resend on socket.io.
        self.find_tracker: TrackerLookup | None = None

    def _parse(self, request: Request) -> "Dict[str, Any] | Rejection":
        try:
            body = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return Rejection("invalid_json", "The request body is not valid JSON.")
        except RecursionError:  # '[' * 5000: the parser gives up before the 64 KB limit does
            return Rejection("invalid_json", "The request body is nested too deeply.")
        if not isinstance(body, dict):
            return Rejection("invalid_json", "The request body must be a JSON object.")
        for problem in (check_sender(body.get("sender")),
                        check_text(body.get("message"), self.max_message_chars),
                        check_metadata(body.get("metadata")), check_message_id(body.get("message_id"))):
            if problem:
                return problem
        return body

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            parsed = self._parse(request)
            if isinstance(parsed, Rejection):
                return rejection_response(parsed)
            message_id = parsed.get("message_id")
            collector = CollectingOutputChannel()
            key = self.client_keys.for_address(client_address(request)) if self.client_keys else None
            message = UserMessage(parsed["message"], collector, parsed["sender"], input_channel=self.name(),
                                  message_id=message_id,
                                  metadata=with_client_key(parsed.get("metadata"), key))
            try:
                if message_id is not None and parsed.get("resent") is True and self.find_tracker is not None:
                    tracker = await self.find_tracker(parsed["sender"])
                    earlier = replies_after(tracker, message_id) if tracker else None
                    if earlier is not None:
                        return response.json([_as_collected(parsed["sender"], reply) for reply in earlier])
                outcome = await on_new_message(message)
            except NOT_STORED as error:  # the turn was not stored: the answer must not be sent
                logger.error("A REST message from %s was not processed, the database or lock store is "
                             "unavailable: %s", parsed["sender"], error)
                return rejection_response(not_stored_rejection(error))
            except Exception:  # noqa: BLE001 - any failure must reach the client as a 500
                logger.exception("Processing a REST message from %s failed", parsed["sender"])
                return response.json({"error": "processing_failed",
                                      "detail": "The assistant failed to process this message."},
                                     status=500)
            if outcome == BUSY:  # refused before the agent saw it: sending it again is safe
                return response.json(BUSY_REJECTION.as_json(), status=BUSY_REJECTION.status,
                                     headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)})
            if outcome == ACTION_SERVER_DOWN:
                return rejection_response(ACTION_SERVER_UNAVAILABLE)
            if outcome == WITH_PERSON:  # recorded; a person answers in the chat, not the bot
                return response.json({"status": WITH_PERSON, "detail": "A person from the shop has this "
                                                                       "conversation and will answer."},
                                     status=202)
            return response.json(collector.messages)

        return webhook
