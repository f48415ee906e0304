"""Slows down password guessing at the console's sign-in: a few failures, then a wait.

Three counts, so a stranger cannot lock the owner out and a guesser is still slowed:
- per email *and* client address: 5 failures in 15 minutes, then that pair waits (the owner, from
  another address, still signs in);
- per email from all addresses together: 50 failures in an hour, then everyone waits for that email
  (guessing from many addresses is slow, and the owner is shut out only by a crowd);
- per address over all emails: 20 failures in 15 minutes (trying one password on many accounts).

Counted in the project's database (actions/services/login_failures.py), so every web process sharing
DATABASE_URL counts the same failures (issue 17) and a restart forgets none. The methods run SQL: from the
event loop, call them through ``asyncio.to_thread``.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Dict, Optional

from sqlalchemy.engine import Engine

from actions.services.clock import Clock, utc_now
from actions.services.login_failures import LoginFailures

MAX_FAILURES = 5  # per email and address
WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 50  # from all addresses together
EMAIL_WINDOW_SECONDS = 60 * 60
MAX_FAILURES_PER_ADDRESS = 20  # over all emails


@dataclass(frozen=True)
class Limit:
    failures: int
    window: float
    why: str  # for the refusal, after "Too many failed sign-ins"


@dataclass(frozen=True)
class Wait:
    seconds: int
    why: str

    @property
    def message(self) -> str:
        minutes = -(-self.seconds // 60)
        return (f"Too many failed sign-ins {self.why}. Try again in {minutes} "
                f"minute{'' if minutes == 1 else 's'}.")


PAIR = Limit(MAX_FAILURES, WINDOW_SECONDS, "for this email from your address")
EMAIL = Limit(MAX_FAILURES_PER_EMAIL, EMAIL_WINDOW_SECONDS, "for this email from many addresses")
ADDRESS = Limit(MAX_FAILURES_PER_ADDRESS, WINDOW_SECONDS, "from your address")


class LoginLimiter:
    def __init__(self, engine: Engine, secret: bytes, clock: Clock = utc_now, pair: Limit = PAIR,
                 email: Limit = EMAIL, address: Limit = ADDRESS) -> None:
        """``secret``: the console's, the same in every web process (it keys the stored hashes)."""
        self.failures = LoginFailures(engine, secret, clock)
        self.limits = {"pair": pair, "email": email, "address": address}
        # Older failures decide nothing any more: the store deletes them.
        self.keep = dt.timedelta(seconds=max(limit.window for limit in self.limits.values()))

    def _keys(self, email: str, address: str) -> Dict[str, str]:
        # JSON, so that no email (the form's text) can pass for another email and address.
        return {"pair": json.dumps(["pair", email, address]), "email": json.dumps(["email", email]),
                "address": json.dumps(["address", address])}

    def wait(self, email: str, address: str) -> Optional[Wait]:
        """None if a sign-in may be tried now, else the longest wait any limit asks for and why."""
        keys = self._keys(email, address)
        counts = [(keys[name], dt.timedelta(seconds=limit.window), limit.failures)
                  for name, limit in self.limits.items()]
        waits = []
        for limit, ages in zip(self.limits.values(), self.failures.ages(counts), strict=True):
            if len(ages) >= limit.failures:
                # Waiting until the oldest of the newest failures leaves the window: then under the limit.
                waits.append(Wait(int(limit.window - ages[-1].total_seconds()) + 1, limit.why))
        return max(waits, key=lambda w: w.seconds) if waits else None

    def failed(self, email: str, address: str) -> None:
        self.failures.record(list(self._keys(email, address).values()), self.keep)

    def succeeded(self, email: str, address: str) -> None:
        """The right password: this email from this address starts afresh (the other counts stand)."""
        self.failures.forget(self._keys(email, address)["pair"])
