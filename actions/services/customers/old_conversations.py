"""``RETENTION_DAYS``: conversations older than that are deleted, daily, by the path a customer's deletion
takes (``erasure.delete_conversations``): Rasa's events, every row of ours that names them, their photos.

A conversation's age is that of its newest message, so one that a customer came back to stays. Customers and
orders stay: the shop's books and the customer's name and contacts are not conversations (a customer's own
deletion removes those). Several web processes may sweep the same day: the second finds nothing left.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.customers.erasure import delete_conversations, remove_files
from actions.services.customers.export_files import rasa_events
from actions.services.database import write_out_deletions

logger = logging.getLogger(__name__)
BATCH = 200  # conversations per transaction: a first sweep of a year's chats holds no lock for long
SWEEP_EVERY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Sweep:
    conversations: int
    files: int


def old_conversations(connection: Connection, before: dt.datetime, limit: int = BATCH) -> List[str]:
    """Conversations whose newest event is older than ``before`` (UTC)."""
    if not inspect(connection).has_table("events"):
        return []
    events = rasa_events()
    newest = func.max(events.c.timestamp)
    return list(
        connection.execute(
            select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(newest < before.timestamp())
            .order_by(newest)
            .limit(limit)
        ).scalars()
    )


def sweep_old_conversations(engine: Engine, upload_dir: Path, days: int, clock: Clock = utc_now) -> Sweep:
    """Delete every conversation older than ``days``; one audit row with the count, if any went."""
    now = clock()
    before = now - dt.timedelta(days=days)
    deleted = files = 0
    while True:
        with engine.begin() as connection:
            ids = old_conversations(connection, before)
            paths = delete_conversations(connection, ids, upload_dir) if ids else []
        files += remove_files(paths)
        deleted += len(ids)
        if len(ids) < BATCH:
            break
    if deleted:
        write_out_deletions(engine)
        with engine.begin() as connection:
            connection.execute(
                t.audit_log.insert().values(
                    at=naive_utc(now),
                    action="retention_sweep",
                    details=(json.dumps({"retention_days": days, "conversations": deleted, "files": files})),
                )
            )
    return Sweep(deleted, files)


async def run_daily_sweep(sweep: Callable[[], Sweep], every: dt.timedelta = SWEEP_EVERY) -> None:
    """Sweep now and then once a day, in a worker thread, while the web server runs; a failure is logged
    and tried again at the next sweep."""
    while True:
        try:
            result = await asyncio.to_thread(sweep)
            if result.conversations:
                logger.info(
                    "Retention: deleted %d conversations older than RETENTION_DAYS (%d photos)",
                    result.conversations,
                    result.files,
                )
        except Exception:  # noqa: BLE001 - a database outage must not end the schedule
            logger.exception("Retention: the sweep of old conversations failed; trying again in a day")
        await asyncio.sleep(every.total_seconds())
