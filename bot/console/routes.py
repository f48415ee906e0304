"""The owner console's routes under /console: sign-in, the inbox, a conversation, and what a person does.

Every route but the sign-in page needs a valid session cookie (anonymous: 303 to the sign-in page);
every form posts a CSRF token (missing or wrong: 403, nothing changes).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.cases import CaseBook
from actions.services.channels.conversations import ChannelConversations
from actions.services.handoffs import INBOX_VIEWS, Handoff
from actions.services.mail import MailError
from actions.services.owners import Owner
from bot.console.access import (
    console_of,
    csrf_ok,
    csrf_token,
    find_session,
    forbidden,
    form_text,
    set_cookie,
    signed_in_owner,
    to_sign_in,
)
from bot.console.account import add_account_routes
from bot.console.auth import COOKIE, SESSION_SECONDS
from bot.console.canned import add_canned_reply_routes
from bot.console.cases import add_case_routes
from bot.console.closed_window import (
    EMAILED,
    channel_of,
    emailed_notice,
    late_replies,
    refusal,
    window_closed,
)
from bot.console.conversation_page import conversation_page
from bot.console.conversations import hand_back_to_bot, person_notice, person_says, transcript
from bot.console.customer_routes import add_customer_routes, customer_side_panel
from bot.console.delivery_view import DeliveryView
from bot.console.figures import add_figures_routes
from bot.console.forwarded import client_address
from bot.console.live import add_live_routes, page_version
from bot.console.missed import add_missed_routes
from bot.console.model_routes import add_model_routes
from bot.console.pages import inbox_page, login_page
from bot.console.problems import add_problem_routes
from bot.console.review_routes import add_review_routes

logger = logging.getLogger(__name__)
LOGIN_COOKIE = "shopbot_login"  # the sign-in form's CSRF token, before there is a session
MAX_REPLY_CHARS = 2000
MAX_NOTE_CHARS = 2000
ACTIONS = ("claim", "reply", "resolve", "hand-back", "note", "tags", "email", "chat-reply")
TYPED = ("reply", "email", "chat-reply", "note")  # actions whose text comes back with the page on an error


def console_blueprint() -> Blueprint:
    console = Blueprint("console", url_prefix="/console")
    console.middleware(find_session, "request")
    add_sign_in_routes(console)
    add_account_routes(console)
    add_conversation_routes(console)
    add_canned_reply_routes(console)
    add_case_routes(console)
    add_customer_routes(console)
    add_figures_routes(console)
    add_live_routes(console)
    add_problem_routes(console)
    add_missed_routes(console)
    add_review_routes(console)
    add_model_routes(console)
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
        given = form.get("csrf") or ""
        # Bytes: compare_digest raises TypeError on str outside ASCII (csrf=é, or such a cookie).
        if not expected or not secrets.compare_digest(expected.encode("utf-8", "surrogatepass"),
                                                      given.encode("utf-8", "surrogatepass")):
            return forbidden()
        email = (form.get("email") or "").strip().lower()
        address = client_address(request)
        state = console_of(request)
        # The counts are database rows (every web process's): read and written off the event loop.
        wait = await asyncio.to_thread(state.limiter.wait, email, address)
        if wait:
            return response.html(login_page(expected, wait.message, email), status=429,
                                 headers={"Retry-After": str(wait.seconds)})
        # scrypt takes a while and the session is a database row: neither on the event loop.
        owner = await asyncio.to_thread(state.accounts.authenticate, email, form.get("password") or "")
        if owner is None:
            await asyncio.to_thread(state.limiter.failed, email, address)
            return response.html(login_page(expected, "Wrong email or password.", email), status=401)
        await asyncio.to_thread(state.limiter.succeeded, email, address)
        reply = response.redirect("/console", status=303)
        set_cookie(reply, request, COOKIE, await asyncio.to_thread(state.sessions.open, owner.id),
                   SESSION_SECONDS)
        return reply

    @console.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        if not csrf_ok(request):
            return forbidden()
        # The session ends on the server: a copy of the cookie opens nothing after this.
        await asyncio.to_thread(console_of(request).sessions.close, request.cookies.get(COOKIE))
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
        listed = await asyncio.to_thread(state.handoffs.inbox, view, owner.id)
        channels = ChannelConversations(request.app.ctx.engine)
        return response.html(
            inbox_page(
                view,
                listed,
                await asyncio.to_thread(state.handoffs.counts, owner.id),
                request.app.ctx.shop.timezone,
                owner.name,
                csrf_token(request),
                version,
                channels=await asyncio.to_thread(channels.channels_of, [h.conversation_id for h in listed]),
            )
        )

    @console.get("/handoffs/<handoff_id:row_id>")
    async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        handoff = await asyncio.to_thread(console_of(request).handoffs.get, handoff_id)
        if handoff is None:
            return response.text("No such conversation.", status=404)
        return await _conversation(request, handoff, owner)

    @console.post("/handoffs/<handoff_id:row_id>/<action:str>")
    async def act(request: Request, handoff_id: int, action: str) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        if not csrf_ok(request):
            return forbidden()
        handoff = await asyncio.to_thread(console_of(request).handoffs.get, handoff_id)
        if handoff is None or action not in ACTIONS:
            return response.text("No such conversation or action.", status=404)
        outcome = await _do(request, action, handoff, owner)
        if isinstance(outcome, Problem):  # the page again, with why and with what was typed
            typed = {action: form_text(request, "text")} if action in TYPED else {}
            return await _conversation(request, handoff, owner, outcome, typed)
        done = f"?done={outcome.notice}" if isinstance(outcome, Done) else ""
        return response.redirect(f"/console/handoffs/{handoff_id}{done}", status=303)


@dataclass(frozen=True)
class Problem:
    status: int
    message: str


@dataclass(frozen=True)
class Done:
    """Done, with something the page says afterwards (the reply went by email, not to the platform)."""
    notice: str


async def _conversation(request: Request, handoff: Handoff, owner: Owner, problem: Optional[Problem] = None,
                        drafts: Optional[Dict[str, str]] = None) -> HTTPResponse:
    """The conversation page; after a failed action with its status code, the reason and the typed text."""
    state, courier = console_of(request), request.app.ctx.courier
    version = await page_version(request, handoff)
    newer = await asyncio.to_thread(state.handoffs.get, handoff.id)  # read after the version: never older
    handoff = newer or handoff
    conversation_id = handoff.conversation_id
    lines = await transcript(request.app.ctx.agent, conversation_id, request.app.ctx.shop.name)
    channel = await channel_of(request, conversation_id)
    emailed = request.args.get("done") == EMAILED
    notice = emailed_notice(channel, handoff.contact_email or "", late_replies(request)) if emailed else ""
    delivery = DeliveryView(await asyncio.to_thread(courier.presence.of, conversation_id),
                            await asyncio.to_thread(courier.outbound.of_conversation, conversation_id),
                            state.mailer.enabled, problem.message if problem else "", drafts or {},
                            channel, handoff.contact_email or "", late=late_replies(request))
    return response.html(
        conversation_page(
            handoff,
            lines,
            await asyncio.to_thread(state.handoffs.notes, handoff.id),
            await asyncio.to_thread(state.canned.all),
            request.app.ctx.shop.timezone,
            owner,
            csrf_token(request),
            version,
            cases=await asyncio.to_thread(CaseBook(request.app.ctx.engine).for_conversation, conversation_id),
            delivery=delivery,
            channel=channel,
            notice=notice,
            side_panel=await customer_side_panel(request, conversation_id),
        ),
        status=problem.status if problem else 200,
    )


def _reply_text(request: Request, limit: int = MAX_REPLY_CHARS, what: str = "A reply") -> str | Problem:
    text = form_text(request, "text")
    return text if text and len(text) <= limit else Problem(400, f"{what} needs 1–{limit} characters.")


async def _do(request: Request, action: str, handoff: Handoff, owner: Owner) -> Problem | Done | None:
    """Carry out one console action; the problem if it could not be done (nothing changed)."""
    queue, app = console_of(request).handoffs, request.app
    taken = Problem(409, "Someone else has this conversation, or it is already closed; nothing was sent.")
    if action == "note":
        text = _reply_text(request, MAX_NOTE_CHARS, "A note")
        if isinstance(text, Problem):
            return text
        await asyncio.to_thread(queue.add_note, handoff.id, owner.id, text)
    elif action == "tags":
        await asyncio.to_thread(queue.set_tags, handoff.id, form_text(request, "tags").split(","))
    elif action == "claim":
        if not await asyncio.to_thread(queue.claim, handoff.id, owner.id):
            return taken
        await _tell(person_notice(app, handoff.conversation_id, owner.name, "joined"), handoff)
    elif action == "reply":
        text = _reply_text(request)
        if isinstance(text, Problem):
            return text
        if handoff.status != "active" or handoff.owner_id != owner.id:
            return taken
        channel = await channel_of(request, handoff.conversation_id)
        if window_closed(channel, late_replies(request)) and channel is not None:  # email instead
            refused = refusal(channel, app.ctx.shop.timezone, handoff.contact_email or "",
                              console_of(request).mailer.enabled, late_replies(request))
            return Problem(409, refused) if refused else await _email_instead(request, handoff, owner, text)
        try:
            await person_says(app, handoff.conversation_id, owner.name, text)
        except Exception:  # noqa: BLE001 - the person keeps the text and tries again
            logger.exception("A reply in conversation %s could not be stored", handoff.conversation_id)
            return Problem(503, "The reply could not be stored, so nothing was sent. Try again.")
    elif action in ("email", "chat-reply"):
        return await _answer_ticket(request, handoff, owner, by_email=action == "email")
    elif action == "resolve":
        if not await asyncio.to_thread(queue.resolve, handoff.id, owner.id):
            return taken
        await _tell(person_notice(app, handoff.conversation_id, owner.name, "closed"), handoff)
    elif not await asyncio.to_thread(queue.hand_back, handoff.id, owner.id):
        return taken
    else:
        await _tell(hand_back_to_bot(app, handoff.conversation_id, owner.name), handoff)
    return None


async def _tell(notice: Awaitable[object], handoff: Handoff) -> None:
    """A notice to the customer after the action itself was done: a failure is logged, the action stands."""
    try:
        await notice
    except Exception:  # noqa: BLE001
        logger.exception("The customer of conversation %s could not be told", handoff.conversation_id)


def _mail(request: Request, owner: Owner, email: str, text: str) -> Callable[[], None]:
    state, shop = console_of(request), request.app.ctx.shop

    def mail() -> None:
        state.mailer.send(email, f"Your message to {shop.name}", f"{text}\n\n{owner.name}, {shop.name}",
                          shop.owner_email)

    return mail


async def _email_instead(request: Request, handoff: Handoff, owner: Owner, text: str) -> Problem | Done:
    """A person's reply after the platform's window closed, by email (stored as mailed: never sent to it)."""
    email = handoff.contact_email or ""
    try:
        await person_says(request.app, handoff.conversation_id, owner.name, text,
                          mail=_mail(request, owner, email, text))
    except MailError:
        logger.exception("The reply in conversation %s could not be emailed", handoff.conversation_id)
        return Problem(502, f"The email to {email} could not be sent, so nothing was sent. Try again later.")
    except Exception:  # noqa: BLE001 - the person keeps the text and tries again
        logger.exception("A reply in conversation %s could not be stored", handoff.conversation_id)
        return Problem(503, "The reply could not be stored, so nothing was sent. Try again.")
    return Done(EMAILED)


async def _answer_ticket(request: Request, handoff: Handoff, owner: Owner,
                         by_email: bool) -> Problem | Done | None:
    """Answer a ticket by email or, without email, in the chat (the customer sees it when they come back).
    The ticket is taken first so two people never both answer; if the answer fails it is open again. In the
    chat of WhatsApp & co. after their window closed, it goes by email instead when it can."""
    state, shop = console_of(request), request.app.ctx.shop
    text = _reply_text(request)
    if isinstance(text, Problem):
        return text
    channel = None if by_email else await channel_of(request, handoff.conversation_id)
    closed = window_closed(channel, late_replies(request))
    if closed and channel is not None:
        refused = refusal(channel, shop.timezone, handoff.contact_email or "", state.mailer.enabled,
                          late_replies(request))
        if refused:
            return Problem(409, refused)
        by_email = True
    if by_email and not handoff.contact_email:
        return Problem(409, "This conversation has no email address to reply to; nothing was sent.")
    if by_email and not state.mailer.enabled:
        return Problem(503, "Email is not set up on this server (SMTP_HOST is not set), so nothing was sent. "
                            "Send your reply in the chat instead, or write from your own email.")
    if not await asyncio.to_thread(state.handoffs.answer_ticket, handoff.id, owner.id):
        return Problem(409, "Someone else has answered this ticket, or it is closed; nothing was sent.")
    mail = _mail(request, owner, handoff.contact_email or "", text) if by_email else None
    try:
        await person_says(request.app, handoff.conversation_id, owner.name, text, mail=mail)
    except MailError:
        logger.exception("The reply to ticket %s could not be sent", handoff.id)
        await asyncio.to_thread(state.handoffs.reopen_ticket, handoff.id)
        return Problem(502, "The email could not be sent; nothing was sent and the ticket is still open. "
                            "Try again later.")
    except Exception:  # noqa: BLE001 - the person keeps the text and tries again
        logger.exception("The reply to ticket %s could not be stored", handoff.id)
        await asyncio.to_thread(state.handoffs.reopen_ticket, handoff.id)
        return Problem(503, "The reply could not be stored, so nothing was sent; the ticket is still open.")
    return Done(EMAILED) if closed else None
