"""Failed console sign-ins in the database: counted per key, stored as keyed hashes, old rows deleted
(SQLite, PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from actions.services import order_tables as t
from actions.services.login_failures import LoginFailures
from tests.conftest import SettableClock, migrated_engine

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


def stored(engine) -> list:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(t.login_failures)).mappings()]


def test_the_newest_failures_within_the_window_youngest_first(engine):
    clock = SettableClock(START)
    failures = LoginFailures(engine, b"secret", clock)
    for _ in range(4):
        failures.record(["mara", "everyone"], HOUR)
        clock.now += dt.timedelta(minutes=10)
    failures.record(["everyone"], HOUR)
    minutes = [dt.timedelta(minutes=m) for m in (10, 20, 30, 40)]
    assert failures.ages([("mara", dt.timedelta(minutes=35), 5), ("everyone", HOUR, 3),
                          ("nobody", HOUR, 5)]) == [minutes[:3], [dt.timedelta(0)] + minutes[:2], []]


def test_forgetting_one_key_keeps_the_others(engine):
    failures = LoginFailures(engine, b"secret", SettableClock(START))
    failures.record(["mara", "everyone"], HOUR)
    failures.forget("mara")
    assert failures.ages([("mara", HOUR, 5), ("everyone", HOUR, 5)]) == [[], [dt.timedelta(0)]]


def test_only_keyed_hashes_are_stored_and_another_secret_finds_nothing(engine):
    failures = LoginFailures(engine, b"secret", SettableClock(START))
    failures.record(['["pair", "mara@example.com", "203.0.113.5"]'], HOUR)
    [row] = stored(engine)
    assert len(row["key_hash"]) == 64 and "mara" not in row["key_hash"] and "203" not in row["key_hash"]
    assert LoginFailures(engine, b"another", SettableClock(START)).ages(
        [('["pair", "mara@example.com", "203.0.113.5"]', HOUR, 5)]) == [[]]


def test_failures_older_than_kept_are_deleted_when_new_ones_come(engine):
    clock = SettableClock(START)
    failures = LoginFailures(engine, b"secret", clock)
    failures.record(["a", "b", "c"], HOUR)
    clock.now += dt.timedelta(minutes=59)
    failures.record(["a"], HOUR)
    assert len(stored(engine)) == 4
    clock.now += dt.timedelta(minutes=2)
    failures.record(["d"], HOUR)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.login_failures)).scalar() == 2
    assert failures.ages([("a", 2 * HOUR, 5)]) == [[dt.timedelta(minutes=2)]]
