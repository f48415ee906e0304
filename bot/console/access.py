"""Who may use the console and how forms prove they come from it: the signed-in owner, CSRF, cookies.

Shared by every console route module (routes.py, live.py, canned.py).
"""
from __future__ import annotations

from typing import Optional

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.canned_replies import CannedReplies
from actions.services.handoffs import HandoffQueue
from actions.services.mail import Mailer
from actions.services.owners import Owner, OwnerAccounts
from bot.console.auth import COOKIE, SessionSigner
from bot.console.login_limit import LoginLimiter


class Console:
    """What the console's routes need, made in the server's start-up listener."""

    def __init__(self, accounts: OwnerAccounts, handoffs: HandoffQueue, signer: SessionSigner,
                 limiter: LoginLimiter, canned: CannedReplies, mailer: Mailer) -> None:
        self.accounts = accounts
        self.handoffs = handoffs
        self.signer = signer
        self.limiter = limiter
        self.canned = canned
        self.mailer = mailer


def console_of(request: Request) -> Console:
    return request.app.ctx.console


def set_cookie(reply: HTTPResponse, request: Request, name: str, value: str, max_age: int) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["path"] = "/console"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if request.scheme == "https":
        cookie["secure"] = True


def signed_in_owner(request: Request) -> Optional[Owner]:
    """The signed-in owner, marked as present (the bot then queues chats instead of taking tickets)."""
    console = console_of(request)
    owner_id = console.signer.owner_id(request.cookies.get(COOKIE))
    owner = console.accounts.get(owner_id) if owner_id is not None else None
    if owner is not None:
        console.accounts.seen(owner.id)
    return owner


def csrf_token(request: Request) -> str:
    return console_of(request).signer.csrf_token(request.cookies.get(COOKIE, ""))


def csrf_ok(request: Request) -> bool:
    return console_of(request).signer.csrf_ok(request.cookies.get(COOKIE), (request.form or {}).get("csrf"))


def forbidden() -> HTTPResponse:
    return response.text("The form was out of date or not from this console (CSRF check failed).", status=403)


def to_sign_in() -> HTTPResponse:
    return response.redirect("/console/login", status=303)


def form_text(request: Request, field: str) -> str:
    """A form field with its lines kept and surrounding space removed."""
    return ((request.form or {}).get(field) or "").strip()
