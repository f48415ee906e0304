"""The console's Cases area: list, one case, its photo, status changes and a reply to the customer.

Signed-in owners only (anonymous: 303 to the sign-in page, also for photos, which have no public URL);
every form carries the CSRF token (403 without it). Bad input is a 4xx and changes nothing. A reply is
stored in the customer's conversation first, the way a person's reply in a chat is, then emailed when an
address is known and SMTP is set; the form comes back with the text whenever it could not be sent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.cases import CASE_VIEWS, PHOTO_TYPES, Case, CaseBook
from actions.services.mail import MailError
from actions.services.owners import Owner
from bot.console.access import (
    console_of,
    csrf_ok,
    csrf_token,
    forbidden,
    form_text,
    signed_in_owner,
    to_sign_in,
)
from bot.console.case_pages import case_page, cases_page
from bot.console.conversations import person_says, transcript

logger = logging.getLogger(__name__)
MAX_REPLY_CHARS = 2000
STATUS_REFUSED = {"unknown_status": (400, "Unknown status: use replaced, refunded or closed."),
                  "no_such_case": (404, "No such case."),
                  "not_allowed": (409, "This case is already {status}; nothing was changed.")}


def case_book(request: Request) -> CaseBook:
    return CaseBook(request.app.ctx.engine)


async def _render(request: Request, case: Case, owner: Owner, status: int = 200, **form: str) -> HTTPResponse:
    agent, shop = request.app.ctx.agent, request.app.ctx.shop
    lines = await transcript(agent, case.conversation_id, shop.name) if case.conversation_id else []
    return response.html(case_page(case, lines, shop.timezone, owner.name, csrf_token(request),
                                   console_of(request).mailer.enabled, **form), status=status)


def add_case_routes(console: Blueprint) -> None:
    @console.get("/cases")
    async def case_list(request: Request) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        view = request.args.get("view", "open")
        if view not in CASE_VIEWS:
            return response.text(f"Unknown view {view!r}; use one of {', '.join(CASE_VIEWS)}.", status=400)
        book = case_book(request)
        cases = await asyncio.to_thread(book.list, view)
        counts = await asyncio.to_thread(book.counts)
        return response.html(cases_page(view, cases, counts, request.app.ctx.shop.timezone, owner.name,
                                        csrf_token(request)))

    @console.get("/cases/<case_id:row_id>")
    async def one_case(request: Request, case_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        case = await asyncio.to_thread(case_book(request).get, case_id)
        if case is None:
            return response.text("No such case.", status=404)
        notice = {"reply": "Your reply is stored in the customer's conversation.",
                  "emailed": "Your reply is stored in the customer's conversation and was emailed.",
                  "status": f"The case is now {case.status_words}."}.get(request.args.get("done", ""), "")
        return await _render(request, case, owner, notice=notice)

    @console.get("/cases/<case_id:row_id>/photo")
    async def photo(request: Request, case_id: int) -> HTTPResponse:
        if signed_in_owner(request) is None:
            return to_sign_in()
        book = case_book(request)
        case = await asyncio.to_thread(book.get, case_id)
        path = book.photo_file(case, request.app.ctx.settings.upload_dir) if case else None
        if path is None:
            return response.text("No photo for this case.", status=404)
        return await response.file(path, mime_type=PHOTO_TYPES[path.suffix.lstrip(".")], headers={
            "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})

    @console.post("/cases/<case_id:row_id>/status")
    async def set_status(request: Request, case_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        if not csrf_ok(request):
            return forbidden()
        status = form_text(request, "status")
        change = await asyncio.to_thread(case_book(request).set_status, case_id, status, owner.id, owner.name)
        if not change.done:
            code, text = STATUS_REFUSED[change.reason]
            status_words = change.case.status_words if change.case else ""
            return response.text(text.format(status=status_words), status=code)
        return response.redirect(f"/console/cases/{case_id}?done=status", status=303)

    @console.post("/cases/<case_id:row_id>/reply")
    async def reply(request: Request, case_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        case = await asyncio.to_thread(case_book(request).get, case_id)
        if not csrf_ok(request):  # nothing is sent; the owner's words come back with a fresh form
            if case is None:
                return forbidden()
            return await _render(request, case, owner, 403, reply_text=form_text(request, "text"),
                                 problem="The form was out of date, so nothing was sent. Your reply is "
                                         "below: send it again.")
        if case is None:
            return response.text("No such case.", status=404)
        return await _reply(request, case, owner, form_text(request, "text"))


async def _reply(request: Request, case: Case, owner: Owner, text: str) -> HTTPResponse:
    """Store the reply in the conversation (and email it); on any error the form comes back with the text."""
    state, shop, book = console_of(request), request.app.ctx.shop, case_book(request)
    if not text or len(text) > MAX_REPLY_CHARS:
        return await _render(request, case, owner, 400, reply_text=text,
                             problem=f"A reply needs 1–{MAX_REPLY_CHARS} characters.")
    email = case.email if state.mailer.enabled else None
    if not case.conversation_id and not email:
        return await _render(request, case, owner, 409, reply_text=text,
                             problem="There is no conversation and no email address to reply to.")
    mail: Optional[Callable[[], object]] = None
    if email:
        subject = f"About your case {case.number} with {shop.name}"
        body = f"{text}\n\n{owner.name}, {shop.name}"

        def mail() -> object:
            return state.mailer.send(email, subject, body, shop.owner_email)
    try:
        if case.conversation_id:  # stored and delivered like a person's reply in a chat; mailed with it
            await person_says(request.app, case.conversation_id, owner.name, text, mail)
        elif mail is not None:
            await asyncio.to_thread(mail)
    except MailError:
        logger.exception("The reply to case %s could not be emailed; nothing was stored", case.number)
        return await _render(request, case, owner, 502, reply_text=text, problem=(
            f"The email to {email} could not be sent, so the reply was not sent at all. Try again later."))
    except Exception:  # the conversation store is down: nothing went out, the owner keeps the text
        logger.exception("The reply to case %s could not be stored", case.number)
        return await _render(request, case, owner, 503, reply_text=text,
                             problem="The reply could not be stored; nothing was sent. Try again.")
    await asyncio.to_thread(book.record_reply, case, owner.id, owner.name, text, email)
    return response.redirect(f"/console/cases/{case.id}?done={'emailed' if email else 'reply'}", status=303)
