"""Errors the bot hit while answering: kept so the owner sees them (console, /health), not only the logs.

Kinds: ``action_failed`` (an exception inside a custom action; the action server apologised instead),
``no_answer`` (a turn for which the bot predicted nothing to say; the web server apologised instead) and
``not_delivered`` (a message a chat channel's platform did not take, given up: the customer never got it).
Recording never raises: a broken database must not turn an apology back into silence.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

logger = logging.getLogger(__name__)
KINDS = ("action_failed", "no_answer", "not_delivered")
MAX_DETAIL = 2000


@dataclass(frozen=True)
class BotError:
    id: int
    conversation_id: str
    kind: str
    action: str
    detail: str
    at: dt.datetime  # aware, UTC


class BotErrorLog:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, conversation_id: str, kind: str, action: str = "", detail: str = "") -> Optional[int]:
        """Store one error; returns its id, or None when even that failed (logged)."""
        if kind not in KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        try:
            with self.engine.begin() as connection:
                return int(connection.execute(t.bot_errors.insert().values(
                    conversation_id=conversation_id[:255], kind=kind, action=action[:100],
                    detail=detail[:MAX_DETAIL], created_at=naive_utc(self.clock()))).inserted_primary_key[0])
        except SQLAlchemyError:
            logger.exception("Could not store the %s error of conversation %s", kind, conversation_id)
            return None

    def recent(self, limit: int = 50) -> List[BotError]:
        return self._select(select(t.bot_errors).order_by(t.bot_errors.c.id.desc()).limit(limit))

    def get(self, error_id: int) -> Optional[BotError]:
        found = self._select(select(t.bot_errors).where(t.bot_errors.c.id == error_id))
        return found[0] if found else None

    def _select(self, query: Select) -> List[BotError]:
        with self.engine.connect() as connection:
            return [BotError(row.id, row.conversation_id, row.kind, row.action, row.detail,
                             row.created_at.replace(tzinfo=dt.timezone.utc))
                    for row in connection.execute(query)]

    def count_since(self, since: dt.datetime) -> int:
        query = select(func.count()).select_from(t.bot_errors).where(
            t.bot_errors.c.created_at >= naive_utc(since))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
