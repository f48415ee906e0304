"""Slows down password guessing at the console's sign-in: a few failures, then a wait.

Counted per key (the email tried, and separately the client address), in memory: one web process
holds the console, and a restart forgetting the count costs a guesser a restart of ours.
"""
from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Callable, Deque, Dict

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


class LoginLimiter:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: Dict[str, Deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> Deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures

    def wait_seconds(self, *keys: str) -> int:
        """0 if a sign-in may be tried now, else how long until the oldest counted failure expires."""
        waits = [self._recent(k)[0] + self.window - self.clock() for k in keys
                 if len(self._recent(k)) >= self.max_failures]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(self.clock())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
