"""RETENTION_DAYS in the web server: old conversations go when it starts (then daily); recent ones stay."""
from __future__ import annotations

import datetime as dt
import time

from rasa.shared.core.events import UserUttered
from sanic_testing.reusable import ReusableClient
from sqlalchemy import text

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from tests.actions.test_figures import add_conversations
from tests.bot.fakes import RecordingAgent
from tests.smtp_inbox import free_port


def senders(engine) -> set:
    with engine.connect() as connection:
        return set(connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars())


def test_the_web_server_deletes_conversations_older_than_retention_days(make_app, tmp_path):
    url = f"sqlite:///{tmp_path}/app.db"
    engine = create_database_engine(url)
    migrate(engine)
    now = dt.datetime.now(dt.timezone.utc)
    add_conversations(engine, {
        "old-chat": [UserUttered("hello", timestamp=(now - dt.timedelta(days=40)).timestamp())],
        "recent-chat": [UserUttered("hello", timestamp=(now - dt.timedelta(days=2)).timestamp())],
    })
    (tmp_path / "uploads" / "old-chat").mkdir(parents=True)
    (tmp_path / "uploads" / "old-chat" / "photo.jpg").write_bytes(b"\xff\xd8\xff")

    app = make_app(RecordingAgent(), database_url=url, retention_days=30, upload_dir=tmp_path / "uploads")
    client = ReusableClient(app, port=free_port())
    with client:  # the server runs, and the sweep with it (in a worker thread)
        client.get("/health")
        deadline = time.monotonic() + 20
        while "old-chat" in senders(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert senders(engine) == {"recent-chat"}
    assert not (tmp_path / "uploads" / "old-chat").exists()
    engine.dispose()


def test_without_retention_days_nothing_is_deleted(make_app, tmp_path):
    url = f"sqlite:///{tmp_path}/app.db"
    engine = create_database_engine(url)
    migrate(engine)
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=4000)).timestamp()
    add_conversations(engine, {"old-chat": [UserUttered("hello", timestamp=old)]})
    app = make_app(RecordingAgent(), database_url=url)
    app.test_client.get("/health")
    time.sleep(1)
    assert senders(engine) == {"old-chat"}
    engine.dispose()
