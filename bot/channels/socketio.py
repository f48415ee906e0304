"""Socket.io channel for the website widget, with session persistence.

A page reload or reconnect sends ``session_request`` with the stored session id and continues the
same conversation (the tracker is keyed by it). Session ids are minted here (128 random bits), never
chosen by the client, and a socket may only send into the session it was confirmed for. Refused
messages get an ``error_message`` event instead of silence.

Delivery is exactly-once with the widget's help: each message carries a ``message_id`` and asks for an
acknowledgement, which is sent after the bot has answered. A message whose acknowledgement was lost
(server restart, network drop) is sent again with ``resent: true``; if the conversation already holds
it, it is not processed again and the answers that followed it are sent once more instead.

What a person says reaches the widget through the ``ChatCourier`` (bot/channels/delivery.py): each such
message carries a ``delivery_id`` the widget acknowledges with ``received``; a widget that connects is sent
what it has not acknowledged yet, so a reply written while the tab was closed arrives when it comes back.
"""
from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.action_calls import ACTION_SERVER_UNAVAILABLE
from bot.admission import BUSY, BUSY_REJECTION, BUSY_RETRY_AFTER_SECONDS
from bot.channels.client_keys import ClientKeys, with_client_key
from bot.channels.delivery import ChatCourier
from bot.channels.messages import (
    DEFAULT_MAX_CHARS,
    NOT_STORED,
    Rejection,
    TrackerLookup,
    check_message_id,
    check_metadata,
    check_text,
    is_session_id,
    not_stored_rejection,
    replies_after,
)
from bot.console.forwarded import client_address
from bot.never_silent import ACTION_SERVER_DOWN
from bot.person_gate import WITH_PERSON
from bot.web.cors import AllowedOrigins

logger = logging.getLogger(__name__)
_MAX_ACKS = 100  # delivery ids acknowledged at once
SOCKETIO_CHANNEL = "shop:socketio"  # the Redis pub/sub channel the web processes share


class SeenMessages:
    """Message ids this process has accepted, so a resend that races the original is dropped."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._ids: "OrderedDict[Tuple[str, str], None]" = OrderedDict()

    def claim(self, session_id: str, message_id: str) -> bool:
        key = (session_id, message_id)
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def release(self, session_id: str, message_id: str) -> None:
        """Forget an id whose message was refused untouched, so sending it again is not a duplicate."""
        self._ids.pop((session_id, message_id), None)


class HeldOutput(OutputChannel):
    """The bot's messages of one turn, sent once the turn is stored: a turn the database could not store
    sends nothing but "please try again" (as REST's answer is whole or a 503), so the widget never shows
    an answer, or a confirmation, that the conversation does not hold."""

    def __init__(self, inner: SocketIOOutput) -> None:
        self.inner = inner
        self.held: List[Tuple[str, Dict[str, Any]]] = []

    @classmethod
    def name(cls) -> str:  # the channel's name, for channel-specific responses
        return SocketIOOutput.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.held.append((recipient_id, message))

    async def release(self) -> None:
        held, self.held = self.held, []
        for recipient_id, message in held:
            await self.inner.send_response(recipient_id, message)


def origin_policy(allowed: Iterable[str]) -> Callable[[str | None, Dict[str, Any]], bool]:
    """Engine.IO origin check, by the same rule as every other route; refusals are logged."""
    origins = AllowedOrigins(allowed)

    def is_allowed(origin: str | None, environ: Dict[str, Any]) -> bool:
        if origin is None:  # not a browser (server-side clients send no Origin)
            return True
        if origins.allows(origin, environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")):
            return True
        logger.warning("Refused a socket.io connection from origin %s (not in CORS_ORIGINS)", origin)
        return False

    return is_allowed


class ValidatingSocketIOInput(SocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            session_persistence=credentials.get("session_persistence", True),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            max_message_chars=int(credentials.get("max_message_chars", DEFAULT_MAX_CHARS)),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        session_persistence: bool = True,
        socketio_path: str = "/socket.io",
        max_message_chars: int = DEFAULT_MAX_CHARS,
        cors_origins: Iterable[str] = (),
    ) -> None:
        super().__init__(user_message_evt, bot_message_evt, None, session_persistence, socketio_path)
        self.max_message_chars = max_message_chars
        self.cors_origins = tuple(cors_origins)
        self.seen = SeenMessages()
        # Set by the app once the agent is loaded; without it a resend is answered from memory only.
        self.find_tracker: TrackerLookup | None = None
        # Set by the app at start: a person's messages and the widget's presence (none: not tracked).
        self.courier: ChatCourier | None = None
        # Set by the app at start (the server's secret): the client key the order flow counts failed checks
        # by; without it no client key is sent, nor one the client made up.
        self.client_keys: ClientKeys | None = None
        self.redis_url: str | None = None  # set from REDIS_URL before blueprint(): emits shared through Redis

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # With REDIS_URL, what one web process emits to a conversation's room reaches the widgets of that
        # conversation connected to the others too (a second tab; a person's reply written in the console
        # of another process). Each process still sends to its own sockets first, so with Redis down only
        # the other processes' widgets miss it, and ChatCourier sends a person's messages again from the
        # database.
        # A Redis that cannot be reached (not refusing: silent) must not hold a turn's answers for the OS's
        # minutes-long connect timeout. No read timeout: the subscriber waits idle for messages.
        manager = AsyncRedisManager(self.redis_url, channel=SOCKETIO_CHANNEL, redis_options={
            "socket_connect_timeout": 3}) if self.redis_url else None
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=origin_policy(self.cors_origins),
                          client_manager=manager)
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio  # get_output_channel() needs it

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def refuse(sid: str, rejection: Rejection) -> Dict[str, Any]:
            await sio.emit("error_message", rejection.as_json(), room=sid)
            return {"status": "refused", **rejection.as_json()}

        async def answered_before(session_id: str, message_id: str) -> bool:
            """Send the earlier answers again if this resent message was already handled."""
            tracker = await self.find_tracker(session_id) if self.find_tracker else None
            replies = replies_after(tracker, message_id) if tracker else None
            if replies is None:
                return False
            output = SocketIOOutput(sio, self.bot_message_evt)
            for reply in replies:
                await output.send_response(session_id, reply)
            return True

        @sio.on("connect")
        async def connect(sid: str, environ: Dict[str, Any], auth: Any = None) -> None:
            """The client's key, from the address the socket came from (through TRUSTED_PROXIES)."""
            request = environ.get("sanic.request")
            if self.client_keys is not None and request is not None:
                key = self.client_keys.for_address(client_address(request))
                await sio.save_session(sid, {"client_key": key})

        # Events sent without data call the handler with the sid alone: ``data`` defaults to None.
        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if is_session_id(requested) else uuid.uuid4().hex
            await sio.save_session(sid, {**await sio.get_session(sid), "session_id": session_id})
            await sio.enter_room(sid, session_id)  # a coroutine since python-socketio 5.10
            await sio.emit("session_confirm", session_id, room=sid)
            if self.courier is not None:  # present now; and what a person said meanwhile, in order
                await self.courier.opened(sid, session_id)

        @sio.on("disconnect")
        async def disconnect(sid: str, reason: Any = None) -> None:
            if self.courier is not None:
                await self.courier.closed(sid)

        @sio.on("received")
        async def received(sid: str, data: Any = None) -> Dict[str, Any]:
            """The widget has these messages of a person (``delivery_ids``): they count as delivered."""
            session_id = (await sio.get_session(sid)).get("session_id")
            data = data if isinstance(data, dict) else {}
            ids = data.get("delivery_ids")
            if session_id is None or data.get("session_id") != session_id:
                return {"status": "refused", "error": "no_session"}
            if not (isinstance(ids, list) and 0 < len(ids) <= _MAX_ACKS
                    and all(type(i) is int and i > 0 for i in ids)):
                return {"status": "refused", "error": "invalid_delivery_ids",
                        "detail": f"delivery_ids must be a list of 1-{_MAX_ACKS} positive whole numbers."}
            marked = await self.courier.received(session_id, ids) if self.courier is not None else 0
            return {"status": "ok", "marked": marked}

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any = None) -> Dict[str, Any]:
            """Returns the acknowledgement: delivered, duplicate, refused or failed."""
            session = await sio.get_session(sid)
            session_id = session.get("session_id")
            if not isinstance(data, dict):
                return await refuse(sid, Rejection("invalid_message", "A message must be an object."))
            if session_id is None or data.get("session_id") != session_id:
                return await refuse(sid, Rejection(
                    "no_session", "Send session_request first and use the confirmed session_id."))
            message_id = data.get("message_id")
            problem = check_text(data.get("message"), self.max_message_chars) \
                or check_metadata(data.get(self.metadata_key)) or check_message_id(message_id)
            if problem:
                return await refuse(sid, problem)
            if message_id is not None:
                first_time = self.seen.claim(session_id, message_id)
                # A resend may follow a restart (this process never saw it) or a dropped socket (the
                # answers went to an empty room): either way the tracker tells whether it was handled.
                try:
                    handled = data.get("resent") is True and await answered_before(session_id, message_id)
                except NOT_STORED as error:  # nothing is known of it: the widget sends it again later
                    if first_time:
                        self.seen.release(session_id, message_id)
                    logger.error("A resent socket.io message in session %s could not be looked up: %s",
                                 session_id, error)
                    return {**await refuse(sid, not_stored_rejection(error)), "status": "failed"}
                if handled or not first_time:
                    return {"status": "duplicate", "message_id": message_id}
            metadata = with_client_key(data.get(self.metadata_key), session.get("client_key"))
            output = HeldOutput(SocketIOOutput(sio, self.bot_message_evt))
            message = UserMessage(data["message"], output, session_id,
                                  input_channel=self.name(), message_id=message_id, metadata=metadata)
            try:
                outcome = await on_new_message(message)
            except NOT_STORED as error:  # not stored: the widget shows "please try again"
                logger.error("A socket.io message in session %s was not processed, the database or lock "
                             "store is unavailable: %s", session_id, error)
                if message_id is not None:  # nothing of it was stored: the same message may come again
                    self.seen.release(session_id, message_id)
                return {**await refuse(sid, not_stored_rejection(error)), "status": "failed"}
            except Exception:  # noqa: BLE001 - the customer must hear that it failed
                logger.exception("Processing a socket.io message in session %s failed", session_id)
                return {**await refuse(sid, Rejection(
                    "processing_failed", "Sorry, something went wrong; please try again.", 500)),
                    "status": "failed"}
            await output.release()
            if outcome == BUSY:  # refused before the agent saw it: the widget shows why and may send it again
                if message_id is not None:
                    self.seen.release(session_id, message_id)
                return {**await refuse(sid, BUSY_REJECTION), "retry_after": BUSY_RETRY_AFTER_SECONDS}
            if outcome == ACTION_SERVER_DOWN:
                return {**await refuse(sid, ACTION_SERVER_UNAVAILABLE), "status": "failed"}
            return {"status": "delivered", "message_id": message_id, "with_person": outcome == WITH_PERSON}

        return webhook
