"""Canned replies in the console: the list, add, change, delete (signed in, CSRF-checked like every form)."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.canned_replies import CannedReplyError
from bot.console.access import (
    console_of,
    csrf_ok,
    csrf_token,
    forbidden,
    form_text,
    signed_in_owner,
    to_sign_in,
)
from bot.console.pages import canned_replies_page


def add_canned_reply_routes(console: Blueprint) -> None:
    @console.get("/replies")
    async def replies(request: Request) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        return response.html(
            canned_replies_page(await asyncio.to_thread(console_of(request).canned.all), owner.name,
                                csrf_token(request))
        )

    @console.post("/replies")
    async def add(request: Request) -> HTTPResponse:
        return await _change(request, None, "add")

    @console.post("/replies/<reply_id:row_id>/<action:str>")
    async def change(request: Request, reply_id: int, action: str) -> HTTPResponse:
        return await _change(request, reply_id, action)


async def _change(request: Request, reply_id: int | None, action: str) -> HTTPResponse:
    owner = signed_in_owner(request)
    if owner is None:
        return to_sign_in()
    if not csrf_ok(request):
        return forbidden()
    canned = console_of(request).canned
    title, text = form_text(request, "title"), form_text(request, "text")
    try:
        if action == "add":
            await asyncio.to_thread(canned.add, title, text)
            done = True
        elif action == "save" and reply_id is not None:
            done = await asyncio.to_thread(canned.change, reply_id, title, text)
        elif action == "delete" and reply_id is not None:
            done = await asyncio.to_thread(canned.remove, reply_id)
        else:
            return response.text("No such action.", status=404)
    except CannedReplyError as error:
        replies = await asyncio.to_thread(canned.all)
        page = canned_replies_page(replies, owner.name, csrf_token(request), str(error))
        return response.html(page, status=400)
    if not done:
        return response.text("No such canned reply.", status=404)
    return response.redirect("/console/replies", status=303)
