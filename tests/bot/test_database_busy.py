"""Another process holds the database's write lock: the real servers stay responsive, and a customer's
turn is either answered and stored, or refused with 503 "please try again" with nothing half-done.

The test holds ``BEGIN EXCLUSIVE`` on the servers' SQLite file for a few seconds (as a backup tool or a
long import would), while customers talk to the bot and the widget loads its config.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from tests.bot.servers import running_servers

pytestmark = pytest.mark.e2e
LOCK_SECONDS = 8
PROMPT_SECONDS = 3  # loosely "at once" (it takes milliseconds), not a performance figure


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with running_servers(tmp_path_factory.mktemp("busy")) as running:
        yield running


@contextmanager
def write_lock_held(database: Path, seconds: float = LOCK_SECONDS) -> Iterator[threading.Event]:
    """Hold an exclusive write lock on the file for ``seconds`` (from a thread, so the test goes on);
    the event is set once the lock is released. Leaving the block waits for the release."""
    locked, released = threading.Event(), threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(database, isolation_level=None, timeout=10)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            locked.set()
            time.sleep(seconds)
            connection.execute("COMMIT")
        finally:
            connection.close()
            released.set()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(10), "could not take the write lock"
    try:
        yield released
    finally:
        holder.join(seconds + 10)


def say(servers: Any, sender: str, text: str) -> requests.Response:
    return requests.post(f"{servers.base_url}/webhooks/rest/webhook", timeout=60,
                         json={"sender": sender, "message": text})


def texts(reply: requests.Response) -> str:
    return " ".join(m.get("text", "") for m in reply.json())


def stored_events(database: Path, sender: str) -> List[Dict[str, Any]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,))
        return [json.loads(data) for (data,) in rows]


def cases_of(database: Path, sender: str) -> List[str]:
    with sqlite3.connect(database) as connection:
        return [n for (n,) in connection.execute("SELECT number FROM cases WHERE conversation_id = ?",
                                                 (sender,))]


def timed_get(url: str) -> float:
    started = time.monotonic()
    reply = requests.get(url, timeout=30)
    assert reply.status_code in (200, 503), reply.text
    return time.monotonic() - started


def assert_busy_refusal(reply: requests.Response) -> None:
    assert reply.status_code == 503, reply.text
    assert reply.json()["error"] == "database_busy"
    assert "try again" in reply.json()["detail"]
    assert int(reply.headers["Retry-After"]) > 0


def test_the_server_answers_while_a_message_waits_for_the_database(servers):
    """/health and /widget/config answer promptly while a customer's turn waits for the lock; the FAQ turn
    is then either answered and stored, or refused with 503 and not stored at all."""
    sender = "busy-faq"
    with write_lock_held(servers.database) as released, ThreadPoolExecutor(1) as pool:
        asked = pool.submit(say, servers, sender, "where is the shop?")
        time.sleep(1)  # the turn is now inside the server, waiting for the database
        health = timed_get(f"{servers.base_url}/health")
        config = timed_get(f"{servers.base_url}/widget/config")
        reply = asked.result(timeout=60)
        released.wait(LOCK_SECONDS + 10)
    print(f"\nunder the lock: /health {health:.1f} s, /widget/config {config:.1f} s, FAQ {reply.status_code}")
    assert health < PROMPT_SECONDS, f"/health took {health:.1f} s"
    assert config < PROMPT_SECONDS, f"/widget/config took {config:.1f} s"
    stored = [e.get("text") for e in stored_events(servers.database, sender) if e["event"] in ("user", "bot")]
    if reply.status_code == 200:
        assert "14 Quay Street" in texts(reply)
        assert "where is the shop?" in stored and any("14 Quay Street" in (t or "") for t in stored), stored
    else:
        assert_busy_refusal(reply)
        assert stored == [], stored
    again = say(servers, sender, "where is the shop?")
    assert again.status_code == 200 and "14 Quay Street" in texts(again)


def test_a_complaint_is_confirmed_only_when_it_is_stored(servers):
    """The complaint's last step under the lock: either the confirmation with the case stored, or a refusal
    or an apology with no confirmation and no case; once the lock is gone, the customer finishes it."""
    sender = "busy-complaint"
    assert "tell me what happened" in texts(say(servers, sender, "I want to make a complaint"))
    assert "Is this about an order?" in texts(say(servers, sender, "the espresso machine leaked on my coat"))
    assert "What email address" in texts(say(servers, sender, '/inform{"choice": "none"}'))
    with write_lock_held(servers.database) as released:
        started = time.monotonic()
        reply = say(servers, sender, "it's lena.b@example.com")
        took = time.monotonic() - started
        released.wait(LOCK_SECONDS + 10)
    print(f"\nthe complaint's last step, locked: {reply.status_code} after {took:.1f} s: {reply.text[:200]}")
    if reply.status_code == 200 and "recorded your complaint" in texts(reply):
        assert len(cases_of(servers.database, sender)) == 1
        said = [e.get("text") or "" for e in stored_events(servers.database, sender) if e["event"] == "bot"]
        assert any("recorded your complaint" in text for text in said), said  # the conversation has it too
        return
    if reply.status_code == 200:  # the action could not write the case: an apology, no confirmation
        assert "Sorry" in texts(reply) and reply.json(), reply.text
    else:
        assert_busy_refusal(reply)
    assert cases_of(servers.database, sender) == []
    # The customer simply tries again: the same message if the turn was refused, the complaint if not.
    retry = say(servers, sender, "it's lena.b@example.com")
    if "recorded your complaint" not in texts(retry):
        assert "tell me what happened" in texts(say(servers, sender, "I want to make a complaint"))
        say(servers, sender, "the espresso machine leaked on my coat")
        say(servers, sender, '/inform{"choice": "none"}')
        retry = say(servers, sender, "it's lena.b@example.com")
    assert retry.status_code == 200 and "recorded your complaint" in texts(retry), retry.text
    assert len(cases_of(servers.database, sender)) == 1
