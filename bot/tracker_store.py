"""Rasa's SQL tracker store, with its database work off the event loop and its failures heard.

Rasa 3.6's ``SQLTrackerStore`` runs synchronous SQLAlchemy inside ``async def`` methods: while one
conversation waited for the database (a write lock held by a backup, an import, the action server), every
request of the web server waited with it, /health included. Here ``retrieve``, ``save`` and ``keys`` run in
a worker thread. On SQLite the store uses the project's engine (WAL, short busy timeout).

Rasa wraps every tracker store in a ``FailSafeTrackerStore`` that turns a failed save into a save to memory
and a failed retrieve into a new, empty conversation: the bot answered, and the turn was lost. The app
unwraps it (``use_tracker_store``), so a failure reaches the channel, which answers 503 "try again".
Configured in ``bot.app.tracker_store_config`` as ``type: bot.tracker_store.ThreadedSQLTrackerStore``.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Iterable, Optional, TypeVar

from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from actions.services.database import create_database_engine

T = TypeVar("T")


def _run_in_thread(work: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """Run Rasa's coroutine (synchronous SQL inside) to completion in a worker thread's own loop."""
    return asyncio.to_thread(lambda: asyncio.run(work()))  # type: ignore[arg-type]


class ThreadedSQLTrackerStore(SQLTrackerStore):
    engine: Engine  # set by SQLTrackerStore.__init__; replaced by ours on SQLite

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = create_database_engine(url.render_as_string(hide_password=False))
            self.sessionmaker = sessionmaker(bind=self.engine)

    # No event broker is configured (endpoints_for), so save() publishes nothing from the worker's loop.
    async def save(self, tracker: DialogueStateTracker) -> None:
        await _run_in_thread(lambda: super(ThreadedSQLTrackerStore, self).save(tracker))

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await _run_in_thread(lambda: super(ThreadedSQLTrackerStore, self).retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        return await _run_in_thread(
            lambda: super(ThreadedSQLTrackerStore, self).retrieve_full_tracker(conversation_id))

    async def keys(self) -> Iterable[str]:
        return await _run_in_thread(lambda: super(ThreadedSQLTrackerStore, self).keys())


def use_tracker_store(agent: Agent) -> None:
    """Take off Rasa's fail-safe wrapper, so a database failure is an error and never a silent loss."""
    store = agent.tracker_store
    if isinstance(store, FailSafeTrackerStore):
        agent.tracker_store = store._tracker_store  # the store Rasa was configured with
        if agent.processor is not None:
            agent.processor.tracker_store = agent.tracker_store
