"""Console sessions kept on the server: a sign-in is a row, so sign-out really ends it.

The cookie carries a random token; the table keeps its SHA-256, never the token itself. A session opens
nothing once it is revoked (sign-out, a password change) or 12 hours after sign-in, whatever its use.
Several web processes share the table, so a sign-out in one is a sign-out in all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Optional

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

LIFETIME = dt.timedelta(hours=12)
SEEN_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often: not on every request
KEPT_AFTER_END = dt.timedelta(days=7)  # ended rows stay a while (who signed in when), then go


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ConsoleSessions:
    def __init__(self, engine: Engine, lifetime: dt.timedelta = LIFETIME, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.lifetime = lifetime
        self.clock = clock

    def _now(self) -> dt.datetime:
        return naive_utc(self.clock())

    def open(self, owner_id: int) -> str:
        """A new session for the owner; returns its token (for the cookie, shown nowhere else)."""
        token, now = secrets.token_urlsafe(32), self._now()
        with self.engine.begin() as connection:
            connection.execute(delete(t.console_sessions).where(
                t.console_sessions.c.expires_at < now - KEPT_AFTER_END))
            connection.execute(t.console_sessions.insert().values(
                token_hash=_hash(token), owner_id=owner_id, created_at=now, last_seen_at=now,
                expires_at=now + self.lifetime))
        return token

    def owner_of(self, token: str) -> Optional[int]:
        """The owner of a live session (and it counts as used now); None if unknown, ended or expired."""
        now, table = self._now(), t.console_sessions
        with self.engine.begin() as connection:
            row = connection.execute(select(table.c.owner_id, table.c.last_seen_at).where(
                table.c.token_hash == _hash(token), table.c.revoked_at.is_(None),
                table.c.expires_at > now)).first()
            if row is None:
                return None
            if now - row.last_seen_at >= SEEN_EVERY:
                connection.execute(update(table).where(table.c.token_hash == _hash(token))
                                   .values(last_seen_at=now))
        return int(row.owner_id)

    def revoke(self, token: str) -> None:
        """Sign-out: this session opens nothing from now on."""
        table = t.console_sessions
        with self.engine.begin() as connection:
            connection.execute(update(table).where(table.c.token_hash == _hash(token),
                                                   table.c.revoked_at.is_(None)).values(revoked_at=self._now()))

    def revoke_others(self, owner_id: int, keep: Optional[str] = None) -> int:
        """End every live session of the owner but ``keep`` (after a password change); how many ended."""
        table = t.console_sessions
        query = update(table).where(table.c.owner_id == owner_id, table.c.revoked_at.is_(None))
        if keep is not None:
            query = query.where(table.c.token_hash != _hash(keep))
        with self.engine.begin() as connection:
            return connection.execute(query.values(revoked_at=self._now())).rowcount or 0
