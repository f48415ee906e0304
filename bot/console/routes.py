"""The owner console's routes under /console: sign-in, the inbox, a conversation, and what a person does.

Every route but the sign-in page needs a valid session cookie (anonymous: 303 to the sign-in page);
every form posts a CSRF token (missing or wrong: 403, nothing changes).
"""

from __future__ import annotations

import secrets
from typing import Any, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.handoffs import INBOX_VIEWS, HandoffQueue
from actions.services.owners import Owner, OwnerAccounts
from bot.console.auth import COOKIE, SESSION_SECONDS, SessionSigner
from bot.console.conversations import bot_says, person_says, transcript
from bot.console.login_limit import LoginLimiter
from bot.console.pages import conversation_page, inbox_page, login_page

LOGIN_COOKIE = "shopbot_login"  # the sign-in form's CSRF token, before there is a session
MAX_REPLY_CHARS = 2000


class Console:
    """What the console's routes need, made in the server's start-up listener."""

    def __init__(
        self, accounts: OwnerAccounts, handoffs: HandoffQueue, signer: SessionSigner, limiter: LoginLimiter
    ) -> None:
        self.accounts = accounts
        self.handoffs = handoffs
        self.signer = signer
        self.limiter = limiter


def _console(request: Request) -> Console:
    return request.app.ctx.console


def _set_cookie(reply: HTTPResponse, request: Request, name: str, value: str, max_age: int) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["path"] = "/console"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if request.scheme == "https":
        cookie["secure"] = True


def _owner(request: Request) -> Optional[Owner]:
    """The signed-in owner, marked as present (the bot then queues chats instead of taking tickets)."""
    accounts = _console(request).accounts
    owner_id = _console(request).signer.owner_id(request.cookies.get(COOKIE))
    owner = accounts.get(owner_id) if owner_id is not None else None
    if owner is not None:
        accounts.seen(owner.id)
    return owner


def _csrf_ok(request: Request) -> bool:
    return _console(request).signer.csrf_ok(request.cookies.get(COOKIE), (request.form or {}).get("csrf"))


def _forbidden() -> HTTPResponse:
    return response.text("The form was out of date or not from this console (CSRF check failed).", status=403)


def _sio(request: Request) -> Any:
    return next(
        (c.sio for c in getattr(request.app.ctx, "input_channels", []) if getattr(c, "sio", None)), None
    )


def console_blueprint() -> Blueprint:
    console = Blueprint("console", url_prefix="/console")

    @console.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        token = secrets.token_urlsafe(24)
        reply = response.html(login_page(token))
        _set_cookie(reply, request, LOGIN_COOKIE, token, 3600)
        return reply

    @console.post("/login")
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        expected = request.cookies.get(LOGIN_COOKIE)
        if not expected or not secrets.compare_digest(expected, form.get("csrf") or ""):
            return _forbidden()
        email = (form.get("email") or "").strip().lower()
        keys = (f"email:{email}", f"ip:{request.remote_addr or request.ip}")
        state = _console(request)
        wait = state.limiter.wait_seconds(*keys)
        if wait:
            return response.html(
                login_page(
                    expected, f"Too many failed sign-ins. Try again in {wait // 60 + 1} minutes.", email
                ),
                status=429,
            )
        owner = state.accounts.authenticate(email, form.get("password") or "")
        if owner is None:
            state.limiter.failed(*keys)
            return response.html(login_page(expected, "Wrong email or password.", email), status=401)
        state.limiter.succeeded(*keys)
        reply = response.redirect("/console", status=303)
        _set_cookie(reply, request, COOKIE, state.signer.issue(owner.id), SESSION_SECONDS)
        return reply

    @console.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        if not _csrf_ok(request):
            return _forbidden()
        reply = response.redirect("/console/login", status=303)
        _set_cookie(reply, request, COOKIE, "", 0)
        return reply

    @console.get("/")
    async def inbox(request: Request) -> HTTPResponse:
        owner = _owner(request)
        if owner is None:
            return response.redirect("/console/login", status=303)
        view = request.args.get("view", "waiting")
        if view not in INBOX_VIEWS:
            return response.text(f"Unknown view {view!r}; use one of {', '.join(INBOX_VIEWS)}.", status=400)
        state = _console(request)
        csrf = state.signer.csrf_token(request.cookies.get(COOKIE, ""))
        return response.html(
            inbox_page(
                view,
                state.handoffs.inbox(view, owner.id),
                state.handoffs.counts(owner.id),
                request.app.ctx.shop.timezone,
                owner.name,
                csrf,
            )
        )

    @console.get("/handoffs/<handoff_id:int>")
    async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
        owner = _owner(request)
        if owner is None:
            return response.redirect("/console/login", status=303)
        state = _console(request)
        handoff = state.handoffs.get(handoff_id)
        if handoff is None:
            return response.text("No such conversation.", status=404)
        lines = await transcript(request.app.ctx.agent, handoff.conversation_id, request.app.ctx.shop.name)
        csrf = state.signer.csrf_token(request.cookies.get(COOKIE, ""))
        return response.html(
            conversation_page(handoff, lines, request.app.ctx.shop.timezone, owner.id, owner.name, csrf)
        )

    @console.post("/handoffs/<handoff_id:int>/<action:str>")
    async def act(request: Request, handoff_id: int, action: str) -> HTTPResponse:
        owner = _owner(request)
        if owner is None:
            return response.redirect("/console/login", status=303)
        if not _csrf_ok(request):
            return _forbidden()
        state = _console(request)
        handoff = state.handoffs.get(handoff_id)
        if handoff is None or action not in ("claim", "reply", "resolve", "hand-back"):
            return response.text("No such conversation or action.", status=404)
        agent = request.app.ctx.agent
        if action == "claim":
            done = state.handoffs.claim(handoff_id, owner.id)
        elif action == "reply":
            text = " ".join(((request.form or {}).get("text") or "").split(" ")).strip()
            if not text or len(text) > MAX_REPLY_CHARS:
                return response.text(f"A reply needs 1–{MAX_REPLY_CHARS} characters.", status=400)
            done = handoff.status == "active" and handoff.owner_id == owner.id
            if done:
                await person_says(agent, _sio(request), handoff.conversation_id, owner.name, text)
        elif action == "resolve":
            done = state.handoffs.resolve(handoff_id, owner.id)
        else:
            done = state.handoffs.hand_back(handoff_id, owner.id)
            if done:
                await bot_says(
                    agent,
                    _sio(request),
                    handoff.conversation_id,
                    "I'm back. Is there anything else I can help you with?",
                )
        if not done:
            return response.text("Someone else has this conversation, or it is already closed.", status=409)
        return response.redirect(f"/console/handoffs/{handoff_id}", status=303)

    return console
