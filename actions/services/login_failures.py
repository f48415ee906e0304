"""Failed console sign-ins, counted in the database so that every web process sees the same counts.

One row per failure and per thing it counts against (bot/console/login_limit.py decides which: the email
with the address, the email, the address). Rows are only ever inserted, never a counter read and written
back, so two processes failing at the same moment both count. The key is stored as a keyed hash (HMAC-SHA256
with a key derived from the console's secret), never an owner's email or a client's address, and rows older
than the longest window are deleted as new failures come in.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import List, Sequence, Tuple

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

# What is asked of the failures under one key: within this window, the ages of (at most) this many newest.
Count = Tuple[str, dt.timedelta, int]


class LoginFailures:
    def __init__(self, engine: Engine, secret: bytes, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        # A key of its own, derived from the console's secret, so these hashes say nothing about cookies.
        self._key = hmac.new(secret, b"login failure keys", hashlib.sha256).digest()

    def _hash(self, key: str) -> str:
        return hmac.new(self._key, key.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()

    def record(self, keys: Sequence[str], keep: dt.timedelta) -> None:
        """One failure, counted under each of ``keys``; failures older than ``keep`` are deleted."""
        now = naive_utc(self.clock())
        table = t.login_failures
        with self.engine.begin() as connection:
            connection.execute(table.insert(), [{"key_hash": self._hash(key), "at": now} for key in keys])
            connection.execute(delete(table).where(table.c.at < now - keep))

    def ages(self, counts: Sequence[Count]) -> List[List[dt.timedelta]]:
        """For each (key, window, newest): how long ago the key's newest failures within the window were,
        at most ``newest`` of them, youngest first."""
        now = naive_utc(self.clock())
        table = t.login_failures
        found = []
        with self.engine.connect() as connection:
            for key, window, newest in counts:
                times = connection.execute(
                    select(table.c.at).where(table.c.key_hash == self._hash(key), table.c.at > now - window)
                    .order_by(table.c.at.desc()).limit(newest)).scalars()
                found.append([now - at for at in times])
        return found

    def forget(self, key: str) -> None:
        """The failures counted under ``key`` count no more."""
        with self.engine.begin() as connection:
            connection.execute(delete(t.login_failures).where(t.login_failures.c.key_hash == self._hash(key)))
