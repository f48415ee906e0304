"""Slows down password guessing at the console's sign-in: a few failures, then a wait.

Three counts, so a stranger cannot lock the owner out and a guesser is still slowed:
- per email *and* client address: 5 failures in 15 minutes, then that pair waits (the owner, from
  another address, still signs in);
- per email from all addresses together: 50 failures in an hour, then everyone waits for that email
  (guessing from many addresses is slow, and the owner is shut out only by a crowd);
- per address over all emails: 20 failures in 15 minutes (trying one password on many accounts).

Counted in memory, per web process: a restart forgets the counts, and with several processes each
counts its own (so the limits are per process). Enough to make guessing slow; not a shared ledger.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Optional, Tuple

MAX_FAILURES = 5  # per email and address
WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 50  # from all addresses together
EMAIL_WINDOW_SECONDS = 60 * 60
MAX_FAILURES_PER_ADDRESS = 20  # over all emails
MAX_KEYS = 50_000  # past this many counted keys, ones without recent failures are dropped


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
    def __init__(self, pair: Limit = PAIR, email: Limit = EMAIL, address: Limit = ADDRESS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {"pair": pair, "email": email, "address": address}
        self.clock = clock
        self._failures: Dict[Tuple[str, str], Deque[float]] = {}

    def _keys(self, email: str, address: str) -> Dict[str, Tuple[str, str]]:
        return {"pair": ("pair", f"{email}\n{address}"), "email": ("email", email),
                "address": ("address", address)}

    def _recent(self, key: Tuple[str, str], window: float) -> Deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= self.clock() - window:
            failures.popleft()
        return failures

    def wait(self, email: str, address: str) -> Optional[Wait]:
        """None if a sign-in may be tried now, else the longest wait any limit asks for and why."""
        waits = []
        for name, key in self._keys(email, address).items():
            limit = self.limits[name]
            failures = self._recent(key, limit.window)
            if len(failures) >= limit.failures:
                # Waiting until enough old failures expire to be under the limit again.
                expires = failures[len(failures) - limit.failures] + limit.window
                waits.append(Wait(int(expires - self.clock()) + 1, limit.why))
        return max(waits, key=lambda w: w.seconds) if waits else None

    def failed(self, email: str, address: str) -> None:
        if len(self._failures) > MAX_KEYS:
            self._forget_old()
        for name, key in self._keys(email, address).items():
            failures = self._failures.setdefault(key, deque())
            failures.append(self.clock())
            while len(failures) > self.limits[name].failures:  # older ones decide nothing any more
                failures.popleft()

    def succeeded(self, email: str, address: str) -> None:
        """The right password: this email from this address starts afresh (the other counts stand)."""
        self._failures.pop(self._keys(email, address)["pair"], None)

    def _forget_old(self) -> None:
        longest = max(limit.window for limit in self.limits.values())
        self._failures = {key: failures for key, failures in self._failures.items()
                          if failures and failures[-1] > self.clock() - longest}
