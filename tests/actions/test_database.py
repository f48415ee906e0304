"""The project's engine (actions/services/database.py): SQLite in WAL mode with open connections kept;
migrations when several processes start at once."""
from __future__ import annotations

import threading
from typing import List

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.pool import QueuePool

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.migrations import MIGRATIONS, migrate


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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_starting_at_once_on_an_empty_database_migrate_it_once(kind, tmp_path, request):
    """A cluster's web processes and action servers all migrate at start: one does the work, the others
    wait for it and find nothing left (without the lock, CREATE TABLE raced and processes died)."""
    url = f"sqlite:///{tmp_path}/new.db" if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engines = [create_database_engine(url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    applied: List[List[int]] = []
    errors: List[BaseException] = []

    def process(engine) -> None:
        start.wait()
        try:
            applied.append(migrate(engine))
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=process, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert sorted(len(steps) for steps in applied) == [0, 0, 0, len(MIGRATIONS)]
        with engines[0].connect() as connection:
            versions = list(connection.execute(select(t.schema_migrations.c.version)).scalars())
        assert sorted(versions) == [m.version for m in MIGRATIONS]
    finally:
        for engine in engines:
            engine.dispose()
