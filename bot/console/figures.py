"""The owner's figures in the console: GET /console/figures (the page) and /console/figures/feedback.csv.

Both need the signed-in owner (anonymous: 303 to the sign-in page). The range comes from ``from``, ``to``
(shop-local dates, both included) and ``by`` (day, week or month); unset, the last 28 days by day. ``channel``
(website, whatsapp, messenger, instagram, telegram; unset: all) keeps one channel's conversations. A bad
date, ``from`` after ``to``, more than 366 days or an unknown channel: 400 with the reason.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Optional, Tuple, Union

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.channel_figures import ChannelError, collect_channel_figures, on_channel, parse_channel
from actions.services.channels.conversations import ChannelConversations
from actions.services.customers.retention import collect_customer_figures
from actions.services.feedback_csv import feedback_csv
from actions.services.figures import FigureRange, FigureRangeError, collect_feedback
from actions.services.owners import Owner
from bot.console.access import csrf_token, signed_in_owner, to_sign_in
from bot.console.figures_pages import figures_page


def _asked(request: Request) -> Union[Tuple[Owner, FigureRange, Optional[str]], HTTPResponse]:
    """The signed-in owner, the range and the channel they asked for, or the answer to give instead."""
    owner = signed_in_owner(request)
    if owner is None:
        return to_sign_in()
    today = dt.datetime.now(request.app.ctx.shop.timezone).date()
    args = request.args
    try:
        chosen = FigureRange.parse(args.get("from"), args.get("to"), args.get("by"), today)
        return owner, chosen, parse_channel(args.get("channel"))
    except (FigureRangeError, ChannelError) as error:
        return response.text(f"Cannot show these figures: {error}.", status=400)


def add_figures_routes(console: Blueprint) -> None:
    @console.get("/figures")
    async def figures(request: Request) -> HTTPResponse:
        asked = _asked(request)
        if isinstance(asked, HTTPResponse):
            return asked
        owner, chosen, channel = asked
        # A year of conversations takes a moment to count: off the event loop.
        engine, zone = request.app.ctx.engine, request.app.ctx.shop.timezone
        found = await asyncio.to_thread(collect_channel_figures, engine, zone, chosen, channel)
        customers = await asyncio.to_thread(collect_customer_figures, engine, zone, chosen, found.keep)
        return response.html(figures_page(found.figures, owner.name, csrf_token(request), customers, found))

    @console.get("/figures/feedback.csv")
    async def feedback_export(request: Request) -> HTTPResponse:
        asked = _asked(request)
        if isinstance(asked, HTTPResponse):
            return asked
        _, chosen, channel = asked
        engine = request.app.ctx.engine
        answers = await asyncio.to_thread(collect_feedback, engine, request.app.ctx.shop.timezone, chosen)
        if channel is not None:
            keep = on_channel(await asyncio.to_thread(ChannelConversations(engine).all_channels), channel)
            answers = [a for a in answers if keep(a.conversation_id)]
        which = f"-{channel}" if channel else ""
        name = f"feedback-{chosen.start.isoformat()}-to-{chosen.end.isoformat()}{which}.csv"
        return response.text(feedback_csv(answers), content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})  # customers' words: keep out of caches
