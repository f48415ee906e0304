"""Health of the web server's dependencies, for /health (not asked per message: bot/action_calls.py tells
the turns whose action server is down)."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from sanic import Sanic

from actions.services.bot_errors import BotErrorLog
from actions.services.clock import utc_now

_TIMEOUT = aiohttp.ClientTimeout(total=2)


def action_health_url(webhook_url: str) -> str:
    """rasa-sdk serves /health beside /webhook."""
    parts = urlsplit(webhook_url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


async def action_server_ok(webhook_url: str) -> bool:
    try:
        async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
            async with session.get(action_health_url(webhook_url)) as reply:
                return reply.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return False


def recent_errors(errors: BotErrorLog) -> Dict[str, Any]:
    """Errors the bot hit in the last 24 hours (apologised for): how many and the latest, without the
    conversation id (a session id is the key to a conversation; the signed-in console shows it)."""
    latest = errors.recent(1)
    return {"last_24h": errors.count_since(utc_now() - dt.timedelta(hours=24)),
            "latest": {"at": latest[0].at.isoformat(timespec="seconds"), "kind": latest[0].kind,
                       "action": latest[0].action} if latest else None}


async def health_report(app: Sanic) -> Dict[str, Any]:
    agent = getattr(app.ctx, "agent", None)
    model_id = agent.model_id if agent is not None and agent.is_ready() else None
    actions_ok = await action_server_ok(app.ctx.settings.action_server_url)
    engine = getattr(app.ctx, "engine", None)
    return {
        "status": "ok" if model_id and actions_ok else "degraded",
        "model": model_id,
        "action_server": "ok" if actions_ok else "unreachable",
        "errors": await asyncio.to_thread(recent_errors, BotErrorLog(engine)) if engine is not None else None,
    }
