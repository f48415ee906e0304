"""Rasa's SQL tracker store, with its database work off the event loop and its failures heard.

Rasa 3.6's ``SQLTrackerStore`` runs synchronous SQLAlchemy inside ``async def`` methods: while one
conversation waited for the database (a write lock held by a backup, an import, the action server), every
request of the web server waited with it, /health included. Here ``retrieve``, ``save`` and ``keys`` run in
a worker thread. On SQLite the store uses the project's engine (WAL, short busy timeout).

Rasa wraps every tracker store in a ``FailSafeTrackerStore`` that turns a failed save into a save to memory
and a failed retrieve into a new, empty conversation: the bot answered, and the turn was lost. The app
unwraps it (``use_tracker_store``), so a failure reaches the channel, which answers 503 "try again".
Configured in ``bot.app.tracker_store_config`` as ``type: bot.tracker_store.ThreadedSQLTrackerStore``.

Recent conversations are kept in memory between turns (issue 16): Rasa's store reads every event of the
session back and replays them into a new tracker on each turn, and counts the stored rows on each save,
so a turn cost more the longer the chat. Here the tracker saved at the end of a turn is kept (up to KEEP
conversations), and the next turn takes it back instead of replaying, if the database's newest event of
that conversation is still the one kept with it: a write by another process, the console, or a deletion
changes it, and the tracker is read from the database as before. A save of a tracker handed out this way
writes its new events without counting rows. A tracker is handed out once (taken from the memory); what
is saved is kept again. A turn that began a new session is not kept: read back, a tracker holds only the
latest session.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from actions.services.database import create_database_engine

T = TypeVar("T")


def _run_in_thread(work: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """Run Rasa's coroutine (synchronous SQL inside) to completion in a worker thread's own loop."""
    return asyncio.to_thread(lambda: asyncio.run(work()))  # type: ignore[arg-type]


KEEP = 128  # conversations kept in memory between turns, the most recent first


@dataclass
class _Kept:
    tracker: DialogueStateTracker
    stored: int                 # how many of the tracker's events are in the database
    newest: Optional[int]       # the id of the conversation's newest event row then


class ThreadedSQLTrackerStore(SQLTrackerStore):
    engine: Engine  # set by SQLTrackerStore.__init__; replaced by ours on SQLite

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = create_database_engine(url.render_as_string(hide_password=False))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._lock = threading.Lock()  # retrieve and save run in worker threads
        self._kept: "OrderedDict[str, _Kept]" = OrderedDict()   # between turns
        # Handed out and not saved yet: (stored, newest). Readers that never save (the console) leave theirs:
        # bounded too; a save whose entry was dropped counts the rows instead.
        self._handed: "OrderedDict[str, Tuple[int, Optional[int]]]" = OrderedDict()
        # Built once: the ORM query built afresh took 250 us of a turn's three calls each, this 80 us.
        events = self.SQLEvent.__table__.c
        self._newest_query = select(func.max(events.id)).where(events.sender_id == bindparam("sender_id"))

    # No event broker is configured (endpoints_for), so save() publishes nothing from the worker's loop.
    async def save(self, tracker: DialogueStateTracker) -> None:
        await asyncio.to_thread(self._save, tracker)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await asyncio.to_thread(self._retrieve_latest, sender_id)

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        return await _run_in_thread(
            lambda: super(ThreadedSQLTrackerStore, self).retrieve_full_tracker(conversation_id))

    async def create_tracker(self, sender_id: str, append_action_listen: bool = True) -> DialogueStateTracker:
        """Rasa's, without storing the new conversation's one event at once: every caller saves the tracker
        when its turn is done, and that save writes all the events (a write and a commit fewer per new
        conversation; no empty conversation is left behind by a reader that never saves)."""
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        self._hand_out(sender_id, 0, None)
        return tracker

    async def keys(self) -> Iterable[str]:
        return await _run_in_thread(lambda: super(ThreadedSQLTrackerStore, self).keys())

    def _newest(self, session: Session, sender_id: str) -> Optional[int]:
        return session.execute(self._newest_query, {"sender_id": sender_id}).scalar()

    def _retrieve_latest(self, sender_id: str) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            newest = self._newest(session, sender_id)
        with self._lock:
            kept = self._kept.pop(sender_id, None)
        if newest is None:  # no event stored: a new conversation, as Rasa's retrieve would say after its read
            self._hand_out(sender_id, 0, None)
            return None
        if kept is not None and kept.newest == newest:
            tracker = kept.tracker
        else:
            tracker = asyncio.run(SQLTrackerStore.retrieve(self, sender_id))  # read back and replayed
        if tracker is not None:
            self._hand_out(sender_id, len(tracker.events), newest)
        return tracker

    def _hand_out(self, sender_id: str, stored: int, newest: Optional[int]) -> None:
        """Note that a tracker with ``stored`` events, all in the database up to ``newest``, is out."""
        with self._lock:
            self._handed[sender_id] = (stored, newest)
            self._handed.move_to_end(sender_id)
            _trim(self._handed)

    def _save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        with self._lock:
            handed = self._handed.pop(sender_id, None)
        with self.session_scope() as session:
            if handed is not None and handed[1] == self._newest(session, sender_id):
                new: List[Event] = list(itertools.islice(tracker.events, handed[0], None))
            else:  # never handed out, or written by someone else since: count the rows, as Rasa does
                new = list(self._additional_events(session, tracker))
            if new:  # one INSERT for all rows: the ORM's unit of work cost a millisecond a turn
                rows = [self._row(sender_id, event) for event in new]
                session.execute(self.SQLEvent.__table__.insert(), rows)
            newest = self._newest(session, sender_id)
            session.commit()
        if _turn_done(tracker) and not any(isinstance(event, SessionStarted) for event in new):
            with self._lock:
                self._kept[sender_id] = _Kept(tracker, len(tracker.events), newest)
                self._kept.move_to_end(sender_id)
                _trim(self._kept)
        elif not any(isinstance(event, SessionStarted) for event in tracker.events):
            # A conversation stored before its session starts: its rows are all its events, so the same
            # tracker's next save, at the end of the turn, need not count them.
            self._hand_out(sender_id, len(tracker.events), newest)

    @staticmethod
    def _row(sender_id: str, event: Event) -> Dict[str, Any]:
        """An event row's columns as Rasa's SQLTrackerStore.save writes them."""
        data = event.as_dict()
        return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data)}


def _trim(recent: "OrderedDict[str, Any]") -> None:
    while len(recent) > KEEP:
        recent.popitem(last=False)  # the least recently used


def _turn_done(tracker: DialogueStateTracker) -> bool:
    """Saved at the end of a turn: the customer has spoken and the bot listens again. Saves in the middle
    of a turn (a new conversation stored before its first message) leave the tracker with its user."""
    return tracker.latest_action_name == ACTION_LISTEN_NAME and bool(tracker.latest_message.text)


def use_tracker_store(agent: Agent) -> None:
    """Take off Rasa's fail-safe wrapper, so a database failure is an error and never a silent loss."""
    store = agent.tracker_store
    if isinstance(store, FailSafeTrackerStore):
        agent.tracker_store = store._tracker_store  # the store Rasa was configured with
        if agent.processor is not None:
            agent.processor.tracker_store = agent.tracker_store
