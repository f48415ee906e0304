"""Live updates for the console: a server-sent event stream that says when the page is out of date.

The page knows the version it was rendered from; the stream compares it with the database (and, on a
conversation page, the number of events in that conversation) about once a second and sends a
``change`` event when they differ. The page's small script then fetches itself and swaps the parts that
changed. Polling the database, not memory, so it works with several web processes and sees handoffs
the action server writes. A stream ends after a while; EventSource reconnects on its own and says which
version it had (Last-Event-ID), so nothing is missed in between.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.handoffs import Handoff
from bot.console.access import console_of, signed_in_owner
from bot.console.row_ids import parse_row_id

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 10.0  # a comment line: a closed connection is noticed and the handler ends
STREAM_SECONDS = 20.0  # below Sanic's 15 s graceful shutdown plus a poll, so a stop is never held up long
SCRIPT = Path(__file__).with_name("console.js")


async def page_version(request: Request, handoff: Optional[Handoff]) -> str:
    """A short hash of what an inbox or conversation page shows; it changes when the page would."""
    parts = [repr(await asyncio.to_thread(console_of(request).handoffs.fingerprint))]
    if handoff is not None:
        tracker = await request.app.ctx.agent.tracker_store.retrieve(handoff.conversation_id)
        parts.append(str(len(tracker.events) if tracker else 0))
        # A person's message delivered or mailed, the customer's chat opened or closed: the page shows it.
        courier = request.app.ctx.courier
        parts.append(repr(await asyncio.to_thread(courier.outbound.fingerprint, handoff.conversation_id)))
        parts.append(str((await asyncio.to_thread(courier.presence.of, handoff.conversation_id)).connected))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def add_live_routes(console: Blueprint) -> None:
    @console.get("/console.js")
    async def script(_: Request) -> HTTPResponse:
        return response.text(
            SCRIPT.read_text(encoding="utf-8"),
            content_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    @console.get("/events")
    async def events(request: Request) -> Optional[HTTPResponse]:
        if signed_in_owner(request) is None:
            return response.text("Sign in to the console first.", status=401)
        raw_id = request.args.get("handoff")
        handoff = None
        if raw_id is not None:
            handoff_id = parse_row_id(raw_id)
            handoff = await asyncio.to_thread(console_of(request).handoffs.get, handoff_id) \
                if handoff_id is not None else None
            if handoff is None:
                return response.text("No such conversation.", status=404)
        seen = request.headers.get("last-event-id") or request.args.get("since") or ""
        stream = await request.respond(
            content_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await stream.send("retry: 1000\n\n")
        loop = asyncio.get_running_loop()
        started = quiet_since = loop.time()
        lasts = float(request.app.config.get("CONSOLE_STREAM_SECONDS", STREAM_SECONDS))
        while loop.time() - started < lasts:
            version = await page_version(request, handoff)
            if version != seen:
                seen = version
                await stream.send(f"id: {version}\nevent: change\ndata: {version}\n\n")
                quiet_since = loop.time()
            elif loop.time() - quiet_since > HEARTBEAT_SECONDS:
                await stream.send(": still here\n\n")
                quiet_since = loop.time()
            await asyncio.sleep(POLL_SECONDS)
        await stream.eof()
        return None
