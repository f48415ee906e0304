"""Sanic's own error answers (404, 405, and a handler's uncaught error) whatever the Accept header says.

Sanic chooses the format of an error page from the Accept header and fails on one it cannot parse
("Accept: a"): every 404 and 405 became a 500 "An error occurred while handling an error". Such a
header counts as none here, so the page is JSON (the app's FALLBACK_ERROR_FORMAT).
"""
from __future__ import annotations

from sanic import Sanic
from sanic.exceptions import InvalidHeader
from sanic.headers import parse_accept
from sanic.request import Request


def tolerate_bad_accept(app: Sanic) -> None:
    @app.on_request
    async def forget_bad_accept(request: Request) -> None:
        # App-level request middleware runs before the error handler too, even when no route matched.
        try:
            request.parsed_accept = parse_accept(request.headers.getone("accept", ""))
        except (InvalidHeader, ValueError):  # "a", or a q that is not a number
            request.parsed_accept = parse_accept("")
