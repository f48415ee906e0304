"""Who may use the console and how forms prove they come from it: the signed-in owner, CSRF, cookies.

Shared by every console route module (routes.py, live.py, canned.py).
"""
from __future__ import annotations

import asyncio
from typing import Optional

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.canned_replies import CannedReplies
from actions.services.handoffs import HandoffQueue
from actions.services.mail import Mailer
from actions.services.owners import Owner, OwnerAccounts
from bot.console.auth import COOKIE, SessionCookies
from bot.console.forwarded import over_https
from bot.console.login_limit import LoginLimiter


class Console:
    """What the console's routes need, made in the server's start-up listener."""

    def __init__(self, accounts: OwnerAccounts, handoffs: HandoffQueue, sessions: SessionCookies,
                 limiter: LoginLimiter, canned: CannedReplies, mailer: Mailer) -> None:
        self.accounts = accounts
        self.handoffs = handoffs
        self.sessions = sessions
        self.limiter = limiter
        self.canned = canned
        self.mailer = mailer

    def owner_of(self, cookie: str) -> Optional[Owner]:
        """The owner of a live session, marked as present (the bot then queues chats instead of taking
        tickets); None if the session is unknown, ended or expired. Synchronous: database reads."""
        owner_id = self.sessions.owner_id(cookie)
        owner = self.accounts.get(owner_id) if owner_id is not None else None
        if owner is not None:
            self.accounts.seen(owner.id)
        return owner


def console_of(request: Request) -> Console:
    return request.app.ctx.console


def set_cookie(reply: HTTPResponse, request: Request, name: str, value: str, max_age: int) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["path"] = "/console"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if over_https(request):  # directly, or said by a proxy in TRUSTED_PROXIES
        cookie["secure"] = True


async def find_session(request: Request) -> None:
    """Request middleware of the console: looks the session up once, off the event loop."""
    cookie = request.cookies.get(COOKIE)
    request.ctx.owner = await asyncio.to_thread(console_of(request).owner_of, cookie) if cookie else None


def signed_in_owner(request: Request) -> Optional[Owner]:
    """The owner whose live session sent this request (found by ``find_session``), or None."""
    return getattr(request.ctx, "owner", None)


def csrf_token(request: Request) -> str:
    return console_of(request).sessions.csrf_token(request.cookies.get(COOKIE, ""))


def csrf_ok(request: Request) -> bool:
    return console_of(request).sessions.csrf_ok(request.cookies.get(COOKIE), (request.form or {}).get("csrf"))


def forbidden() -> HTTPResponse:
    return response.text("The form was out of date or not from this console (CSRF check failed).", status=403)


def to_sign_in() -> HTTPResponse:
    return response.redirect("/console/login", status=303)


def form_text(request: Request, field: str) -> str:
    """A form field with its lines kept and surrounding space removed."""
    return ((request.form or {}).get(field) or "").strip()
