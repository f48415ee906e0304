"""The console's Customers area (issue 18): search, one customer, their conversations, what the owner does.

    GET  /console/customers?q=                                 the list, or the customers a search finds
    GET  /console/customers/<id>                               the customer's page
    POST /console/customers/<id>/notes          notes=…
    POST /console/customers/<id>/tags           tags=a, b
    POST /console/customers/<id>/follow-up      feedback=<id or empty> to= subject= body=   (emailed, stored)
    GET  /console/customers/<id>/conversations/<conversation>  one of their conversations, read only
    GET  /console/customers/<id>/export.zip                    everything about them (audited)
    POST /console/customers/<id>/delete         confirm=<their first email, or DELETE>   (audited)

The owner's pages (a trainer-only account gets 403 from the console's session middleware); every form
carries the CSRF token (403 without it, nothing changes); bad input is a 4xx with the page, the reason and
what was typed. A follow-up is stored unsent, emailed, then marked sent; if the mail server refuses it the
row is withdrawn and the page says nothing went.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.channels.conversations import ChannelConversations
from actions.services.customers.erasure import CustomerRecords
from actions.services.customers.profile_records import CustomerProfile
from actions.services.customers.profiles import MAX_NOTES, CustomerBook
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
from bot.console.conversations import transcript
from bot.console.customer_pages import (
    CustomerForms,
    customer_page,
    customer_panel,
    customer_url,
    customers_page,
    deleted_notice,
    deleted_query,
    transcript_page,
)

logger = logging.getLogger(__name__)
LIST_LIMIT = 100
MAX_SUBJECT, MAX_BODY, MAX_TAGS = 200, 5000, 500
NOTICES = {"notes": "The notes are saved.", "tags": "The tags are saved.",
           "follow-up": "Your email was sent, and it is in the history below."}


def customer_book(request: Request) -> CustomerBook:
    return CustomerBook(request.app.ctx.engine)


async def customer_side_panel(request: Request, conversation_id: str) -> str:
    """The panel beside a live conversation. A failure to read it is logged and said in the panel: the
    conversation page itself must still open."""
    book = customer_book(request)
    try:
        customer_id = await asyncio.to_thread(book.customer_for_conversation, conversation_id)
        profile = await asyncio.to_thread(book.profile, customer_id) if customer_id is not None else None
    except Exception:  # noqa: BLE001 - the person is in a live chat; the panel is secondary
        logger.exception("The customer of conversation %s could not be read", conversation_id)
        return '<h2>Customer</h2><p class="error">The customer could not be read just now.</p>'
    return customer_panel(profile, conversation_id, request.app.ctx.shop.timezone)


def _records(request: Request) -> CustomerRecords:
    return CustomerRecords(request.app.ctx.engine, request.app.ctx.settings.upload_dir)


async def _page(request: Request, profile: CustomerProfile, owner: Owner, status: int = 200,
                problem: str = "", notice: str = "", drafts: Optional[Dict[str, str]] = None) -> HTTPResponse:
    shop = request.app.ctx.shop
    channels = await asyncio.to_thread(ChannelConversations(request.app.ctx.engine).channels_of,
                                       [c.conversation_id for c in profile.conversations])
    forms = CustomerForms(problem, notice, drafts or {})
    return response.html(customer_page(profile, shop.timezone, owner.name, shop.name, csrf_token(request),
                                       console_of(request).mailer.enabled, forms, channels), status=status)


async def _posted(request: Request, customer_id: int) -> tuple[Optional[Owner], Optional[CustomerProfile],
                                                               Optional[HTTPResponse]]:
    """For a form: the owner and the customer, or the answer to give instead (sign-in, 403, 404)."""
    owner = signed_in_owner(request)
    if owner is None:
        return None, None, to_sign_in()
    if not csrf_ok(request):
        return None, None, forbidden()
    profile = await asyncio.to_thread(customer_book(request).profile, customer_id)
    if profile is None:
        return None, None, response.text("No such customer.", status=404)
    return owner, profile, None


def add_customer_routes(console: Blueprint) -> None:  # noqa: C901 - one closure per route, as elsewhere
    @console.get("/customers")
    async def customer_list(request: Request) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        query = (request.args.get("q") or "").strip()[:200]
        found = await asyncio.to_thread(customer_book(request).search, query, LIST_LIMIT)
        args = {name: request.args.get(name) or "" for name in ("conversations", "cases", "orders", "files")}
        notice = deleted_notice(args) if request.args.get("deleted") else ""
        return response.html(customers_page(query, found, request.app.ctx.shop.timezone, owner.name,
                                            csrf_token(request), notice))

    @console.get("/customers/<customer_id:row_id>")
    async def one_customer(request: Request, customer_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        profile = await asyncio.to_thread(customer_book(request).profile, customer_id)
        if profile is None:
            return response.text("No such customer.", status=404)
        return await _page(request, profile, owner, notice=NOTICES.get(request.args.get("done", ""), ""))

    @console.post("/customers/<customer_id:row_id>/notes")
    async def notes(request: Request, customer_id: int) -> HTTPResponse:
        return await _save_text(request, customer_id, "notes", MAX_NOTES, "Notes are at most {} characters")

    @console.post("/customers/<customer_id:row_id>/tags")
    async def tags(request: Request, customer_id: int) -> HTTPResponse:
        return await _save_text(request, customer_id, "tags", MAX_TAGS, "Tags are at most {} characters")

    @console.post("/customers/<customer_id:row_id>/follow-up")
    async def follow_up(request: Request, customer_id: int) -> HTTPResponse:
        owner, profile, refused = await _posted(request, customer_id)
        if refused is not None or owner is None or profile is None:
            return refused or forbidden()
        return await _follow_up(request, owner, profile)

    @console.get("/customers/<customer_id:row_id>/conversations/<conversation_id:str>", unquote=True)
    async def conversation(request: Request, customer_id: int, conversation_id: str) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        profile = await asyncio.to_thread(customer_book(request).profile, customer_id)
        found = [c for c in profile.conversations if c.conversation_id == conversation_id] if profile else []
        if profile is None or not found:
            return response.text("No such conversation of this customer.", status=404)
        shop = request.app.ctx.shop
        lines = await transcript(request.app.ctx.agent, conversation_id, shop.name)
        return response.html(transcript_page(profile, found[0], lines, shop.timezone, owner.name,
                                             csrf_token(request)))

    @console.get("/customers/<customer_id:row_id>/export.zip")
    async def export(request: Request, customer_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        records = _records(request)
        try:
            data = await asyncio.to_thread(records.export_zip, customer_id, owner.email)
        except KeyError:
            return response.text("No such customer.", status=404)
        return response.raw(data, content_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="customer-{customer_id}.zip"',
            "Cache-Control": "no-store"})

    @console.post("/customers/<customer_id:row_id>/delete")
    async def delete(request: Request, customer_id: int) -> HTTPResponse:
        owner, profile, refused = await _posted(request, customer_id)
        if refused is not None or owner is None or profile is None:
            return refused or forbidden()
        records = _records(request)
        expected = next(iter(profile.emails), "DELETE")
        typed = form_text(request, "confirm")
        if typed.casefold() != expected.casefold():
            return await _page(request, profile, owner, 422, f"Nothing was deleted: type {expected} exactly "
                               "in the confirmation box to delete this customer.", drafts={"confirm": typed})
        try:
            done = await asyncio.to_thread(records.delete_customer, customer_id, owner.email)
        except KeyError:
            return response.text("No such customer.", status=404)
        query = deleted_query(done.conversations, done.cases, done.orders_anonymised, done.files)
        return response.redirect(f"/console/customers?{query}", status=303)


async def _save_text(request: Request, customer_id: int, field: str, limit: int,
                     too_long: str) -> HTTPResponse:
    """The owner's notes or tags for the customer, replaced by what was typed."""
    owner, profile, refused = await _posted(request, customer_id)
    if refused is not None or owner is None or profile is None:
        return refused or forbidden()
    typed = form_text(request, field)
    if len(typed) > limit:
        return await _page(request, profile, owner, 400, f"{too_long.format(limit)}; nothing was saved.",
                           drafts={field: typed})
    book = customer_book(request)
    await asyncio.to_thread(book.set_notes if field == "notes" else book.set_tags, customer_id, typed)
    return response.redirect(customer_url(customer_id, f"?done={field}"), status=303)


async def _follow_up(request: Request, owner: Owner, profile: CustomerProfile) -> HTTPResponse:
    draft = {name: form_text(request, name) for name in ("feedback", "to", "subject", "body")}
    mine = {str(f.id): f for f in profile.feedback}
    problem = ""
    if draft["feedback"] and draft["feedback"] not in mine:
        problem = "That rating is not this customer's; nothing was sent."
    elif draft["to"].lower() not in profile.emails:
        problem = "Choose one of the customer's email addresses; nothing was sent."
    elif not 0 < len(draft["subject"]) <= MAX_SUBJECT or "\n" in draft["subject"] or "\r" in draft["subject"]:
        problem = f"The subject needs 1–{MAX_SUBJECT} characters on one line; nothing was sent."
    elif not 0 < len(draft["body"]) <= MAX_BODY:
        problem = f"The message needs 1–{MAX_BODY} characters; nothing was sent."
    if problem:
        return await _page(request, profile, owner, 400, problem, drafts=draft)
    state, book, shop = console_of(request), customer_book(request), request.app.ctx.shop
    if not state.mailer.enabled:
        return await _page(request, profile, owner, 503, "Email is not set up on this server (SMTP_HOST is "
                           "not set), so nothing was sent. Write from your own email instead.", drafts=draft)
    feedback_id = int(draft["feedback"]) if draft["feedback"] else None
    to = draft["to"].lower()
    stored = await asyncio.to_thread(book.record_followup, profile.id, owner.id, to, draft["subject"],
                                     draft["body"], feedback_id)
    try:
        await asyncio.to_thread(state.mailer.send, to, draft["subject"], draft["body"], shop.owner_email)
    except MailError:
        logger.exception("The follow-up to customer %s could not be sent", profile.id)
        await asyncio.to_thread(book.withdraw_followup, stored)
        return await _page(request, profile, owner, 502, "The email could not be sent: the mail server did "
                           "not take it. Nothing was sent or recorded; your text is below. Try again later.",
                           drafts=draft)
    try:
        await asyncio.to_thread(book.mark_mailed, stored)
    except Exception:  # noqa: BLE001 - the mail went; say so rather than offer to send it twice
        logger.exception("Follow-up %s was emailed but not marked as sent", stored)
        fresh = await asyncio.to_thread(book.profile, profile.id) or profile
        return await _page(request, fresh, owner, 500, "The email was sent, but the history could not be "
                           "updated: it shows it as not sent. Do not send it again.")
    return response.redirect(customer_url(profile.id, "?done=follow-up"), status=303)
