"""Console sessions on the server: a row per sign-in, ended by sign-out, a password change or 12 hours."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.console_sessions import ConsoleSessions
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from actions.services.owners import OwnerAccounts


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def store(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/sessions.db")
    migrate(engine)
    owners = OwnerAccounts(engine)
    mara = owners.add("mara@example.com", "Mara", "correct horse battery")
    sam = owners.add("sam@example.com", "Sam", "correct horse battery")
    clock = Clock()
    yield ConsoleSessions(engine, clock=clock), clock, engine, mara.id, sam.id
    engine.dispose()


def test_a_session_lasts_twelve_hours_from_sign_in(store):
    sessions, clock, _, mara, _ = store
    token = sessions.open(mara)
    clock.now += dt.timedelta(hours=11, minutes=59)
    assert sessions.owner_of(token) == mara
    clock.now += dt.timedelta(minutes=1)
    assert sessions.owner_of(token) is None
    assert sessions.owner_of("not a token") is None


def test_only_a_hash_of_the_token_is_stored(store):
    sessions, _, engine, mara, _ = store
    token = sessions.open(mara)
    with engine.connect() as connection:
        stored = connection.execute(select(t.console_sessions.c.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_revoking_ends_one_session_and_revoking_others_keeps_one(store):
    sessions, _, _, mara, sam = store
    laptop, phone, tablet, sams = (sessions.open(mara), sessions.open(mara), sessions.open(mara),
                                   sessions.open(sam))
    sessions.revoke(tablet)
    assert sessions.owner_of(tablet) is None and sessions.owner_of(laptop) == mara
    assert sessions.revoke_others(mara, keep=laptop) == 1  # the phone; the tablet had ended already
    assert sessions.owner_of(phone) is None and sessions.owner_of(laptop) == mara
    assert sessions.owner_of(sams) == sam  # another person's sessions are theirs
