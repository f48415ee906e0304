"""Health of the web server's dependencies, for /health (not asked per message: bot/action_calls.py tells
the turns whose action server is down)."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from redis.exceptions import RedisError
from sanic import Sanic

from actions.services.bot_errors import BotErrorLog
from actions.services.clock import utc_now
from actions.services.database import DATABASE_UNAVAILABLE
from bot.lock_store import AtomicRedisLockStore

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


async def lock_store_state(agent: Any) -> str:
    """"ok" or "unreachable" for Redis (several web processes); "in memory" for one process's own lock."""
    store = getattr(agent, "lock_store", None)
    if not isinstance(store, AtomicRedisLockStore):
        return "in memory"
    try:
        await asyncio.wait_for(store.redis.ping(), 2)
    except (RedisError, asyncio.TimeoutError, OSError):
        return "unreachable"
    return "ok"


async def health_report(app: Sanic) -> Dict[str, Any]:
    """Each dependency's state; "degraded" (503) when any cannot serve customers."""
    agent = getattr(app.ctx, "agent", None)
    model_id = agent.model_id if agent is not None and agent.is_ready() else None
    actions_ok = await action_server_ok(app.ctx.settings.action_server_url)
    engine = getattr(app.ctx, "engine", None)
    lock_store = await lock_store_state(agent)
    errors, database = None, "unreachable"
    if engine is not None:
        try:
            errors = await asyncio.to_thread(recent_errors, BotErrorLog(engine))
            database = "ok"
        except DATABASE_UNAVAILABLE:
            pass
    healthy = model_id and actions_ok and database == "ok" and lock_store != "unreachable"
    return {
        "status": "ok" if healthy else "degraded",
        "model": model_id,
        "action_server": "ok" if actions_ok else "unreachable",
        "database": database,
        "lock_store": lock_store,
        "errors": errors,
    }
