"""Which web pages may call this server: its own origin and the shop's sites in CORS_ORIGINS.

A browser sends ``Origin`` on cross-origin calls (fetch, XHR, socket.io). Calls from an origin that is
not allowed are refused with 403 *before* any handler runs, so a page elsewhere cannot post messages
into conversations (a plain-text POST would otherwise be processed and only its answer hidden), and
the log says which origin was refused. Requests without ``Origin`` (curl, other servers, a page's own
script and image loads) are not cross-origin calls and pass. Engine.IO checks the same list on its own
(bot.channels.socketio.origin_policy), for socket.io connections that do not pass through here.
"""
from __future__ import annotations

import logging
from typing import Iterable

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Authorization"
PREFLIGHT_MAX_AGE = "600"


class AllowedOrigins:
    """The one place that decides: this server's own pages, plus the shop's sites in CORS_ORIGINS."""

    def __init__(self, extra: Iterable[str]) -> None:
        self.extra = frozenset(origin.rstrip("/") for origin in extra)

    def allows(self, origin: str, scheme: str, host: str) -> bool:
        # A websocket upgrade arrives as ws:// or wss://, but the page it comes from is http(s).
        own = f"{ {'ws': 'http', 'wss': 'https'}.get(scheme, scheme)}://{host}"
        return origin == own or origin in self.extra


def install_origin_policy(app: Sanic, allowed: Iterable[str], engine_io_path: str = "/socket.io") -> None:
    origins = AllowedOrigins(allowed)

    def is_allowed(request: Request, origin: str) -> bool:
        return origins.allows(origin, request.scheme, request.host)

    @app.on_request
    async def check_origin(request: Request) -> HTTPResponse | None:
        origin = request.headers.get("origin")
        if origin is None:
            return None
        if not is_allowed(request, origin):
            logger.warning("Refused a request from origin %s to %s %s (not in CORS_ORIGINS)",
                           origin, request.method, request.path)
            return response.json({"error": "origin_not_allowed",
                                  "detail": f"This chat server does not accept calls from {origin}."},
                                 status=403)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            return response.empty(status=204, headers={
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            })
        return None

    @app.on_response
    async def allow_origin(request: Request, reply: HTTPResponse) -> None:
        origin = request.headers.get("origin")
        # Engine.IO answers its own CORS headers; a second copy would make browsers refuse the reply.
        if origin is None or request.path.startswith(engine_io_path) or not is_allowed(request, origin):
            return
        reply.headers["Access-Control-Allow-Origin"] = origin
        reply.headers["Vary"] = "Origin"
