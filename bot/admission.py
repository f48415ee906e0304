"""Admission control: a bounded number of customer turns in progress; beyond it a clear, fast "busy".

A turn's NLU and policies run on the web server's event loop. With 100 customers at once every turn waited
on every other: p99 passed 30 s, the health check timed out into false 503s, and an action call could wait
more than five seconds between connecting and writing, so the action server closed the connection
("Cannot write to closing transport") and Rasa dropped the action's events. A message beyond the limit is
refused before the agent sees it (nothing half-done): REST answers 503 with Retry-After, socket.io an
``error_message`` the widget shows, and the customer sends it again a moment later.
"""
from __future__ import annotations

from bot.channels.messages import Rejection

BUSY = "busy"  # the outcome of a turn refused at the door
BUSY_RETRY_AFTER_SECONDS = 2
BUSY_REJECTION = Rejection(BUSY, "The assistant is busy with other customers right now; please try again "
                                 "in a moment.", 503)


class TurnLimit:
    """At most ``max_in_flight`` turns at once in this process; never waits (the event loop is one thread,
    so the counter needs no lock)."""

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def try_enter(self) -> bool:
        if self.in_flight >= self.max_in_flight:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
