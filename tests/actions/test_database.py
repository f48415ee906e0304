"""The project's engine (actions/services/database.py): SQLite in WAL mode with open connections kept."""
from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.pool import QueuePool

from actions.services.database import create_database_engine


def test_a_sqlite_file_keeps_its_connections_open_and_each_in_wal_mode(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/pooled.db")
    try:
        assert isinstance(engine.pool, QueuePool)
        opened = []
        event.listen(engine, "connect", lambda *_: opened.append(1))
        for _ in range(5):  # one after the other: the same connection comes back, not a new one each time
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert len(opened) == 1
    finally:
        engine.dispose()


def test_an_in_memory_database_is_one_database_for_all_its_sessions():
    engine = create_database_engine("sqlite:///:memory:")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kept (n INTEGER)"))
        connection.execute(text("INSERT INTO kept VALUES (1)"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM kept")).scalar() == 1
    engine.dispose()
