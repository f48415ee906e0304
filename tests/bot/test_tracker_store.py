"""The web server's tracker store: its database work leaves the event loop free, and a write that cannot be
done is an error the channel answers with 503 "try again", never a turn silently kept in memory."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError

from actions.services.database import BUSY_TIMEOUT_SECONDS
from bot.tracker_store import ThreadedSQLTrackerStore, use_tracker_store
from tests.bot.fakes import RecordingAgent


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "tracker.db"


@pytest.fixture
def store(database: Path) -> Iterator[ThreadedSQLTrackerStore]:
    store = ThreadedSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(database))
    yield store
    store.engine.dispose()


def conversation(sender: str = "c1") -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    tracker.update(UserUttered("where is the shop?"))
    tracker.update(BotUttered("14 Quay Street"))
    return tracker


class WriteLock:
    """Another process's write lock on the SQLite file (a backup, a long import), until released."""

    def __init__(self, database: Path) -> None:
        self.connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.close()


async def ticks_while(work: Any) -> List[float]:
    """Run ``work`` while a ticker sleeps 50 ms at a time; the gaps between its ticks (the loop's stalls)."""
    gaps: List[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.05)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    try:
        await work
    finally:
        done.set()
        await task
    return gaps


async def test_a_conversation_is_stored_and_read_back(store):
    await store.save(conversation())
    again = await store.retrieve("c1")
    assert [e.text for e in again.events if isinstance(e, (UserUttered, BotUttered))] == [
        "where is the shop?", "14 Quay Street"]
    assert list(await store.keys()) == ["c1"]


async def test_a_locked_database_fails_the_save_soon_and_never_stalls_the_loop(store, database):
    await store.save(conversation())  # the table exists; now someone else holds the write lock
    lock = WriteLock(database)
    try:
        started = time.monotonic()
        longer = conversation()
        longer.update(UserUttered("and when do you open?"))
        with pytest.raises(OperationalError, match="database is locked"):
            await ticks_while(store.save(longer))
        took = time.monotonic() - started
        gaps = await ticks_while(store.retrieve("c1"))  # reading is not held up by a writer (WAL)
    finally:
        lock.release()
    assert BUSY_TIMEOUT_SECONDS - 0.5 < took < BUSY_TIMEOUT_SECONDS + 3
    assert max(gaps, default=0) < 1  # the loop went on serving others
    stored = await store.retrieve("c1")
    assert len(stored.events) == len(conversation().events)  # nothing half-written


async def test_the_loop_keeps_ticking_while_a_save_waits(store, database):
    await store.save(conversation())
    lock = WriteLock(database)
    timer = threading.Timer(1.0, lock.release)  # the lock goes after a second: the save then succeeds
    timer.start()
    longer = conversation()
    longer.update(UserUttered("and when do you open?"))
    gaps = await ticks_while(store.save(longer))
    timer.join()
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.1f} s"
    assert (await store.retrieve("c1")).latest_message.text == "and when do you open?"


async def test_without_rasas_fail_safe_a_failed_save_is_an_error_not_a_turn_kept_in_memory(store, database):
    agent = Agent(domain=Domain.empty(), tracker_store=store)
    use_tracker_store(agent)
    assert agent.tracker_store is store
    await store.save(conversation())
    lock = WriteLock(database)
    try:
        with pytest.raises(OperationalError):
            await agent.tracker_store.save(conversation("c2"))
    finally:
        lock.release()
    assert await store.retrieve("c2") is None


class LockedAgent(RecordingAgent):
    async def handle_message(self, message: UserMessage) -> Any:
        await message.output_channel.send_response(message.sender_id, {"text": "14 Quay Street"})
        raise OperationalError("INSERT INTO events ...", {}, sqlite3.OperationalError("database is locked"))


def test_the_rest_channel_answers_a_busy_database_with_503_and_retry_after(make_app):
    app = make_app(LockedAgent())
    _, reply = app.test_client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "where?"})
    assert reply.status == 503
    assert reply.json["error"] == "database_busy" and "try again" in reply.json["detail"]
    assert int(reply.headers["Retry-After"]) > 0
    assert "14 Quay Street" not in reply.text  # the answer of a turn that was not stored is not sent


def a_turn(tracker: DialogueStateTracker, text: str, reply: str) -> DialogueStateTracker:
    """The customer says ``text``, the bot answers and listens again: a whole turn, as a turn ends."""
    for event in (UserUttered(text, {"name": "greet", "confidence": 0.9}),
                  ActionExecuted("action_answer_faq"), BotUttered(reply), ActionExecuted(ACTION_LISTEN_NAME)):
        tracker.update(event)
    return tracker


def stored_rows(database: Path, sender: str = "c1") -> List[Tuple[str, Any, Any]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT type_name, intent_name, action_name FROM events WHERE sender_id = ? "
                          "ORDER BY id", (sender,)).fetchall()


async def test_the_next_turn_takes_the_kept_tracker_and_stores_only_new_events(store, database, monkeypatch):
    first = a_turn(DialogueStateTracker("c1", []), "hi", "Hello!")
    await store.save(first)
    replays = []
    monkeypatch.setattr(DialogueStateTracker, "from_dict",
                        classmethod(lambda cls, *a, **k: replays.append(a) or pytest.fail("replayed")))
    again = await store.retrieve("c1")
    assert again is first and replays == []  # no read back, no replay
    await store.save(a_turn(again, "where are you?", "14 Quay Street"))
    assert stored_rows(database) == [("user", "greet", None), ("action", None, "action_answer_faq"),
                                     ("bot", None, None), ("action", None, "action_listen")] * 2
    assert (await store.retrieve("c1")) is again


async def test_a_write_by_someone_else_is_read_back_from_the_database(store, database):
    await store.save(a_turn(DialogueStateTracker("c1", []), "hi", "Hello!"))
    # another process
    other = ThreadedSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(database))
    try:
        theirs = await other.retrieve("c1")
        await other.save(a_turn(theirs, "are you open?", "Until 18:00."))
    finally:
        other.engine.dispose()
    ours = await store.retrieve("c1")
    assert [e.text for e in ours.events if isinstance(e, UserUttered)] == ["hi", "are you open?"]
    await store.save(a_turn(ours, "thanks", "You're welcome!"))
    assert [row[0] for row in stored_rows(database)].count("user") == 3  # nothing written twice


async def test_a_tracker_is_handed_out_once_and_a_turn_that_began_a_session_is_not_kept(store, database):
    tracker = a_turn(DialogueStateTracker("c1", []), "hi", "Hello!")
    await store.save(tracker)
    assert (await store.retrieve("c1")) is tracker
    assert (await store.retrieve("c1")) is not tracker  # a second reader gets its own, from the database
    for event in (ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted()):
        tracker.update(event)
    await store.save(a_turn(tracker, "back again", "Welcome back!"))
    again = await store.retrieve("c1")
    assert again is not tracker  # read back: the latest session only
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["back again"]


async def test_the_store_keeps_the_most_recent_conversations_only(store, monkeypatch):
    monkeypatch.setattr("bot.tracker_store.KEEP", 2)
    trackers = [a_turn(DialogueStateTracker(f"c{n}", []), "hi", "Hello!") for n in range(3)]
    for tracker in trackers:
        await store.save(tracker)
    assert (await store.retrieve("c0")) is not trackers[0]  # the oldest made room
    assert (await store.retrieve("c2")) is trackers[2]


async def test_readers_that_never_save_leave_no_trace_beyond_the_bound(store, monkeypatch):
    monkeypatch.setattr("bot.tracker_store.KEEP", 2)
    for n in range(4):
        await store.save(conversation(f"r{n}"))
        await store.retrieve(f"r{n}")  # the console reading a conversation, never saving it
    assert len(store._handed) == 2 and list(store._handed) == ["r2", "r3"]


async def test_a_new_conversations_first_turn_is_stored_without_counting_rows(store, database, monkeypatch):
    monkeypatch.setattr(ThreadedSQLTrackerStore, "_additional_events",
                        lambda *_: pytest.fail("counted the rows"))
    monkeypatch.setattr(SQLTrackerStore, "retrieve", lambda *_: pytest.fail("read the events back"))
    tracker = await store.get_or_create_tracker("c1")  # no events stored: a new tracker, listening
    assert [e.type_name for e in tracker.events] == ["action"] and stored_rows(database) == []
    for event in (ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted()):
        tracker.update(event)
    await store.save(a_turn(tracker, "hi", "Hello!"))
    assert [row[0] for row in stored_rows(database)] == [
        "action", "action", "session_started", "user", "action", "bot", "action"]
