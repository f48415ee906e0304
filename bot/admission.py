"""Admission control: a bounded number of customer turns in progress; beyond it a clear, fast "busy".

A turn's NLU and policies run on the web server's event loop. With 100 customers at once every turn waited
on every other: p99 passed 30 s, the health check timed out into false 503s, and an action call could wait
more than five seconds between connecting and writing, so the action server closed the connection
("Cannot write to closing transport") and Rasa dropped the action's events. A message beyond the limit
waits in a short queue (first come, first served) for up to TURN_QUEUE_SECONDS; one that waited that long,
or finds the queue full, is refused before the agent sees it (nothing half-done): REST answers 503 with
Retry-After, socket.io an ``error_message`` the widget shows, and the customer sends it again a moment later.
Refusing at once sent 399 of 1,000 turns of `make load` away; a turn that waits a few seconds is answered.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Deque

from bot.channels.messages import Rejection

BUSY = "busy"  # the outcome of a turn refused at the door
BUSY_RETRY_AFTER_SECONDS = 2
BUSY_REJECTION = Rejection(BUSY, "The assistant is busy with other customers right now; please try again "
                                 "in a moment.", 503)


WAITING_PER_SLOT = 20  # the queue holds this many turns per slot; beyond it a turn is refused at once


class TurnLimit:
    """At most ``max_in_flight`` turns at once in this process; the next ones wait their turn for up to
    ``queue_seconds`` (0: refused at once). The event loop is one thread, so the counters need no lock."""

    def __init__(self, max_in_flight: int, queue_seconds: float = 0) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self.queue_seconds = queue_seconds
        self.in_flight = 0
        self._waiting: Deque["asyncio.Future[None]"] = deque()

    async def enter(self) -> bool:
        """True once the turn may run (then call ``leave``); False if it must be refused."""
        if self.in_flight < self.max_in_flight and not self._waiting:
            self.in_flight += 1
            return True
        if self.queue_seconds <= 0 or len(self._waiting) >= WAITING_PER_SLOT * self.max_in_flight:
            return False
        turn: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(turn, self.queue_seconds)  # ``leave`` hands its slot over
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            if turn in self._waiting:
                self._waiting.remove(turn)

    def leave(self) -> None:
        """The slot goes to the first turn still waiting, else it is free."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.in_flight -= 1
