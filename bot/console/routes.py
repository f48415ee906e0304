"""The owner console's routes under /console: sign-in, the inbox, a conversation, and what a person does.

Every route but the sign-in page needs a valid session cookie (anonymous: 303 to the sign-in page);
every form posts a CSRF token (missing or wrong: 403, nothing changes).
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.cases import CaseBook
from actions.services.handoffs import INBOX_VIEWS, Handoff
from actions.services.mail import MailError
from actions.services.owners import Owner
from bot.console.access import (
    console_of,
    csrf_ok,
    csrf_token,
    forbidden,
    form_text,
    set_cookie,
    signed_in_owner,
    socket_server,
    to_sign_in,
)
from bot.console.auth import COOKIE, SESSION_SECONDS
from bot.console.canned import add_canned_reply_routes
from bot.console.cases import add_case_routes
from bot.console.conversations import hand_back_to_bot, person_says, transcript
from bot.console.figures import add_figures_routes
from bot.console.live import add_live_routes, page_version
from bot.console.pages import conversation_page, inbox_page, login_page

logger = logging.getLogger(__name__)
LOGIN_COOKIE = "shopbot_login"  # the sign-in form's CSRF token, before there is a session
MAX_REPLY_CHARS = 2000
MAX_NOTE_CHARS = 2000
ACTIONS = ("claim", "reply", "resolve", "hand-back", "note", "tags", "email")


def console_blueprint() -> Blueprint:
    console = Blueprint("console", url_prefix="/console")
    add_sign_in_routes(console)
    add_conversation_routes(console)
    add_canned_reply_routes(console)
    add_case_routes(console)
    add_figures_routes(console)
    add_live_routes(console)
    return console


def add_sign_in_routes(console: Blueprint) -> None:
    @console.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        token = secrets.token_urlsafe(24)
        reply = response.html(login_page(token))
        set_cookie(reply, request, LOGIN_COOKIE, token, 3600)
        return reply

    @console.post("/login")
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        expected = request.cookies.get(LOGIN_COOKIE)
        if not expected or not secrets.compare_digest(expected, form.get("csrf") or ""):
            return forbidden()
        email = (form.get("email") or "").strip().lower()
        keys = (f"email:{email}", f"ip:{request.remote_addr or request.ip}")
        state = console_of(request)
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
        set_cookie(reply, request, COOKIE, state.signer.issue(owner.id), SESSION_SECONDS)
        return reply

    @console.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        if not csrf_ok(request):
            return forbidden()
        reply = response.redirect("/console/login", status=303)
        set_cookie(reply, request, COOKIE, "", 0)
        return reply


def add_conversation_routes(console: Blueprint) -> None:
    @console.get("/")
    async def inbox(request: Request) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        view = request.args.get("view", "waiting")
        if view not in INBOX_VIEWS:
            return response.text(f"Unknown view {view!r}; use one of {', '.join(INBOX_VIEWS)}.", status=400)
        state = console_of(request)
        version = await page_version(request, None)  # before reading: a change in between is sent live
        return response.html(
            inbox_page(
                view,
                state.handoffs.inbox(view, owner.id),
                state.handoffs.counts(owner.id),
                request.app.ctx.shop.timezone,
                owner.name,
                csrf_token(request),
                version,
            )
        )

    @console.get("/handoffs/<handoff_id:int>")
    async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        state = console_of(request)
        handoff = state.handoffs.get(handoff_id)
        if handoff is None:
            return response.text("No such conversation.", status=404)
        version = await page_version(request, handoff)
        handoff = state.handoffs.get(handoff_id) or handoff  # read after the version: newer, never older
        lines = await transcript(request.app.ctx.agent, handoff.conversation_id, request.app.ctx.shop.name)
        return response.html(
            conversation_page(
                handoff,
                lines,
                state.handoffs.notes(handoff_id),
                state.canned.all(),
                request.app.ctx.shop.timezone,
                owner,
                csrf_token(request),
                version,
                cases=await asyncio.to_thread(CaseBook(request.app.ctx.engine).for_conversation,
                                              handoff.conversation_id),
            )
        )

    @console.post("/handoffs/<handoff_id:int>/<action:str>")
    async def act(request: Request, handoff_id: int, action: str) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        if not csrf_ok(request):
            return forbidden()
        handoff = console_of(request).handoffs.get(handoff_id)
        if handoff is None or action not in ACTIONS:
            return response.text("No such conversation or action.", status=404)
        problem = await _do(request, action, handoff, owner)
        if problem is not None:
            return problem
        return response.redirect(f"/console/handoffs/{handoff_id}", status=303)


async def _do(request: Request, action: str, handoff: Handoff, owner: Owner) -> HTTPResponse | None:
    """Carry out one console action; an error response if it could not be done (nothing changed)."""
    queue = console_of(request).handoffs
    agent, sio = request.app.ctx.agent, socket_server(request)
    taken = response.text("Someone else has this conversation, or it is already closed.", status=409)
    if action == "note":
        text = form_text(request, "text")
        if not text or len(text) > MAX_NOTE_CHARS:
            return response.text(f"A note needs 1–{MAX_NOTE_CHARS} characters.", status=400)
        queue.add_note(handoff.id, owner.id, text)
    elif action == "tags":
        queue.set_tags(handoff.id, form_text(request, "tags").split(","))
    elif action == "claim":
        return None if queue.claim(handoff.id, owner.id) else taken
    elif action == "reply":
        text = form_text(request, "text")
        if not text or len(text) > MAX_REPLY_CHARS:
            return response.text(f"A reply needs 1–{MAX_REPLY_CHARS} characters.", status=400)
        if handoff.status != "active" or handoff.owner_id != owner.id:
            return taken
        await person_says(agent, sio, handoff.conversation_id, owner.name, text)
    elif action == "email":
        return await _answer_ticket(request, handoff, owner)
    elif action == "resolve":
        return None if queue.resolve(handoff.id, owner.id) else taken
    elif not queue.hand_back(handoff.id, owner.id):
        return taken
    else:
        await hand_back_to_bot(agent, sio, handoff.conversation_id)
    return None


async def _answer_ticket(request: Request, handoff: Handoff, owner: Owner) -> HTTPResponse | None:
    """Email the customer who left a ticket; the ticket is taken first so two people never both answer."""
    state = console_of(request)
    text = form_text(request, "text")
    if not text or len(text) > MAX_REPLY_CHARS:
        return response.text(f"A reply needs 1–{MAX_REPLY_CHARS} characters.", status=400)
    if not handoff.contact_email:
        return response.text("This conversation has no email address to reply to.", status=409)
    if not state.mailer.enabled:
        return response.text("Email is not set up on this server (SMTP_HOST); nothing was sent.", status=503)
    if not state.handoffs.answer_ticket(handoff.id, owner.id):
        return response.text("Someone else has answered this ticket, or it is closed.", status=409)
    shop = request.app.ctx.shop
    try:
        await asyncio.to_thread(
            state.mailer.send,
            handoff.contact_email,
            f"Your message to {shop.name}",
            f"{text}\n\n{owner.name}, {shop.name}",
            shop.owner_email,
        )
    except MailError:
        logger.exception("The reply to ticket %s could not be sent", handoff.id)
        state.handoffs.reopen_ticket(handoff.id)
        return response.text(
            "The email could not be sent; the ticket is still open. Try again later.", status=502
        )
    await person_says(request.app.ctx.agent, None, handoff.conversation_id, owner.name, text, by_email=True)
    return None
