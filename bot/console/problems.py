"""The console's Problems page: errors the bot hit while answering (the customer got an apology), newest
first, each with the conversation it happened in, so the owner can see what the customer went through."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import List, Sequence
from zoneinfo import ZoneInfo

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.bot_errors import BotError, BotErrorLog
from actions.services.channels.conversations import LABELS as CHANNEL_LABELS
from bot.console.access import csrf_token, signed_in_owner, to_sign_in
from bot.console.conversations import Line, transcript
from bot.console.pages import esc, page

KIND_WORDS = {"action_failed": "An action failed", "no_answer": "The bot had no answer",
              "not_delivered": "A message did not reach the customer"}


def where(error: BotError) -> str:
    """The action that failed, or the chat channel that did not take a message ("Telegram")."""
    if error.kind == "not_delivered":
        return CHANNEL_LABELS.get(error.action, error.action)
    return error.action or "-"


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


def problems_page(errors: Sequence[BotError], zone: ZoneInfo, owner_name: str, csrf: str) -> str:
    rows = "".join(
        f'<tr><td>{esc(_local(e.at, zone))}</td><td>{esc(KIND_WORDS.get(e.kind, e.kind))}</td>'
        f'<td>{esc(where(e))}</td><td>{esc(e.detail)}</td>'
        f'<td><a href="/console/problems/{e.id}">Conversation …{esc(e.conversation_id[-6:])}</a></td></tr>'
        for e in errors)
    body = (
        "<h1>Problems</h1><p>Each time the bot failed while answering, the customer was told sorry and "
        "offered a person; and each message WhatsApp, Messenger, Instagram or Telegram did not take (the "
        "customer never got it). These are the conversations to look at.</p>"
        + (f'<table><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Where</th>'
           f'<th scope="col">Detail</th><th scope="col">Conversation</th></tr></thead><tbody>{rows}'
           f"</tbody></table>" if rows else "<p>No problems recorded: the bot has answered every message.</p>"
           ))
    return page("Problems", body, owner_name, csrf)


def problem_page(error: BotError, lines: List[Line], zone: ZoneInfo, owner_name: str, csrf: str) -> str:
    said = "".join(
        f'<div class="line {esc(line.who)}"><span class="who">{esc(line.name)}</span> '
        f'<span class="time">{esc(_local(line.at, zone))}</span>\n{esc(line.text)}</div>' for line in lines)
    body = (
        f'<p><a href="/console/problems">← Problems</a></p><h1>{esc(KIND_WORDS.get(error.kind, error.kind))}'
        f"</h1><p>{esc(_local(error.at, zone))} · {esc(where(error))} · {esc(error.detail)}</p>"
        f'<section aria-label="Transcript" class="transcript">{said or "<p>No messages kept.</p>"}</section>')
    return page("Problem", body, owner_name, csrf)


def add_problem_routes(console: Blueprint) -> None:
    @console.get("/problems")
    async def problems(request: Request) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        errors = await asyncio.to_thread(BotErrorLog(request.app.ctx.engine).recent, 200)
        return response.html(problems_page(errors, request.app.ctx.shop.timezone, owner.name,
                                           csrf_token(request)))

    @console.get("/problems/<error_id:row_id>")
    async def problem(request: Request, error_id: int) -> HTTPResponse:
        owner = signed_in_owner(request)
        if owner is None:
            return to_sign_in()
        error = await asyncio.to_thread(BotErrorLog(request.app.ctx.engine).get, error_id)
        if error is None:
            return response.text(f"No problem {error_id}.", status=404)
        lines = await transcript(request.app.ctx.agent, error.conversation_id, request.app.ctx.shop.name)
        return response.html(problem_page(error, lines, request.app.ctx.shop.timezone, owner.name,
                                          csrf_token(request)))
