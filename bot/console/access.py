"""Who may use the console and how forms prove they come from it: the signed-in owner, CSRF, cookies.

Shared by every console route module (routes.py, live.py, canned.py).
"""
from __future__ import annotations

import asyncio
from typing import Optional, Union

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
from bot.console.pages import nav_roles, page


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


# Pages a trainer-only account may open; everything else in the console is the owner's (cases, chats,
# figures): such an account gets 403 there, and the console's front page sends it to its own.
TRAINER_PAGES = ("/console/missed", "/console/conversations", "/console/models", "/console/password",
                 "/console/logout", "/console/login")


async def find_session(request: Request) -> Optional[HTTPResponse]:
    """Request middleware of the console: looks the session up once, off the event loop, and keeps an
    account out of the pages its roles do not open."""
    cookie = request.cookies.get(COOKIE)
    account = await asyncio.to_thread(console_of(request).owner_of, cookie) if cookie else None
    request.ctx.account = account
    request.ctx.owner = account if account is not None and account.is_owner else None
    nav_roles.set(account.roles if account is not None else ())
    if account is None or account.is_owner or request.path.startswith(TRAINER_PAGES):
        return None
    if request.path.rstrip("/") == "/console":
        return response.redirect("/console/missed", status=303)
    return response.html(page("Not for this account", "<h1>Not for this account</h1><p>This page is the "
                              "shop owner's. Your account trains the bot: see "
                              '<a href="/console/missed">Missed messages</a>.</p>', account.name,
                              csrf_token(request)), status=403)


def signed_in_owner(request: Request) -> Optional[Owner]:
    """The owner whose live session sent this request (found by ``find_session``), or None; an account
    that is only a trainer's is not an owner."""
    return getattr(request.ctx, "owner", None)


def signed_in_account(request: Request) -> Optional[Owner]:
    """The signed-in account, whatever its roles (its own password is every account's), or None."""
    return getattr(request.ctx, "account", None)


def signed_in_trainer(request: Request) -> Optional[Owner]:
    """The signed-in account if it may train the bot, or None."""
    account = getattr(request.ctx, "account", None)
    return account if account is not None and account.is_trainer else None


def not_a_trainer(request: Request) -> HTTPResponse:
    """For a trainer's page: anonymous, to the sign-in; signed in without the trainer role, 403 saying so."""
    account = getattr(request.ctx, "account", None)
    if account is None:
        return to_sign_in()
    words = ("<h1>Not for this account</h1><p>This page is for accounts that train the bot (made with "
             "<code>python -m bot owner add EMAIL --role trainer</code> or <code>--role both</code>).</p>")
    return response.html(page("Not for this account", words, account.name, csrf_token(request)), status=403)


def trainer_posting(request: Request) -> Union[Owner, HTTPResponse]:
    """For a trainer's form: the signed-in trainer, or the answer to give instead (sign-in, 403)."""
    trainer = signed_in_trainer(request)
    if trainer is None:
        return not_a_trainer(request)
    return trainer if csrf_ok(request) else forbidden()


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
