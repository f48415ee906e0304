"""Socket.io channel for the website widget, with session persistence.

A page reload or reconnect sends ``session_request`` with the stored session id and continues the
same conversation (the tracker is keyed by it). Session ids are minted here (128 random bits), never
chosen by the client, and a socket may only send into the session it was confirmed for. Refused
messages get an ``error_message`` event instead of silence.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Iterable

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.messages import DEFAULT_MAX_CHARS, Rejection, check_metadata, check_text

logger = logging.getLogger(__name__)
_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def origin_policy(allowed: Iterable[str]) -> Callable[[str | None, Dict[str, Any]], bool]:
    """Engine.IO origin check: the page's own host, plus the configured origins; refusals are logged."""
    extra = {origin.rstrip("/") for origin in allowed}

    def is_allowed(origin: str | None, environ: Dict[str, Any]) -> bool:
        if origin is None:  # not a browser (server-side clients send no Origin)
            return True
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        if origin == own or origin in extra:
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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=origin_policy(self.cors_origins))
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio  # get_output_channel() needs it

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def refuse(sid: str, rejection: Rejection) -> None:
            await sio.emit("error_message", rejection.as_json(), room=sid)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if isinstance(requested, str) and _SESSION_ID.match(requested) \
                else uuid.uuid4().hex
            await sio.save_session(sid, {"session_id": session_id})
            await sio.enter_room(sid, session_id)  # a coroutine since python-socketio 5.10
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any) -> None:
            session = await sio.get_session(sid)
            session_id = session.get("session_id")
            if not isinstance(data, dict):
                return await refuse(sid, Rejection("invalid_message", "A message must be an object."))
            if session_id is None or data.get("session_id") != session_id:
                return await refuse(sid, Rejection(
                    "no_session", "Send session_request first and use the confirmed session_id."))
            problem = check_text(data.get("message"), self.max_message_chars) \
                or check_metadata(data.get(self.metadata_key))
            if problem:
                return await refuse(sid, problem)
            message = UserMessage(data["message"], SocketIOOutput(sio, self.bot_message_evt), session_id,
                                  input_channel=self.name(), metadata=data.get(self.metadata_key))
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - the customer must hear that it failed
                logger.exception("Processing a socket.io message in session %s failed", session_id)
                await refuse(sid, Rejection("processing_failed",
                                            "Sorry, something went wrong; please try again.", 500))

        return webhook
