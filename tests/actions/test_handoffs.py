"""The handoff queue on a real database: places, claims, silence while a person owns it, the inbox."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.conftest import migrated_engine

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)  # every change a minute after the last one
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The project's tables, migrated, on a SQLite file and on the local PostgreSQL."""
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def queue(engine):
    return HandoffQueue(engine, Clock())


@pytest.fixture
def owners(engine):
    accounts = OwnerAccounts(engine)
    return (
        accounts.add("mara@example.com", "Mara", "correct horse battery").id,
        accounts.add("sam@example.com", "Sam", "correct horse battery").id,
    )


def test_queue_places_follow_arrival_and_asking_twice_keeps_the_place(queue):
    for conversation in ("c1", "c2", "c3"):
        queue.request(conversation, "human_handoff", {"intent": "human_handoff"})
    again = queue.request("c2", "complaint", {})
    assert again.reason == "human_handoff"  # the first request stands
    assert [queue.position(c) for c in ("c1", "c2", "c3", "nobody")] == [1, 2, 3, None]


def test_a_claim_silences_the_bot_until_the_person_hands_back(queue, owners):
    mara, sam = owners
    first = queue.request("c1", "human_handoff", {})
    queue.request("c2", "human_handoff", {})
    assert not queue.is_owned_by_person("c1")  # waiting: the bot still answers questions
    assert queue.claim(first.id, mara)
    assert not queue.claim(first.id, sam)  # taken already
    assert queue.is_owned_by_person("c1") and queue.position("c2") == 1
    assert not queue.hand_back(first.id, sam)  # only the person who owns it
    assert queue.hand_back(first.id, mara)
    assert not queue.is_owned_by_person("c1") and queue.open_for("c1") is None
    assert queue.request("c1", "human_handoff", {}).id != first.id  # a new request later is a new handoff


def test_tickets_notes_tags_and_the_inbox(queue, owners):
    mara, sam = owners
    due = START + dt.timedelta(days=1)
    ticket = queue.request("c-night", "human_handoff", {"intent": "human_handoff"}, "cus@example.com", due)
    assert (
        ticket.status == "ticket" and ticket.reply_due_at == due and ticket.contact_email == "cus@example.com"
    )
    waiting = [queue.request(c, "complaint", {"complaint": "cold coffee"}) for c in ("c-a", "c-b")]
    assert queue.claim(waiting[1].id, mara)
    queue.add_note(waiting[1].id, mara, "offered a voucher")
    queue.set_tags(waiting[1].id, ["Voucher", " late ", "", "a,b"])
    assert queue.open_for("c-b").tags == ["late", "voucher"]
    assert [h.conversation_id for h in queue.inbox("waiting", mara)] == ["c-a"]
    assert [h.conversation_id for h in queue.inbox("mine", mara)] == ["c-b"]
    assert queue.inbox("mine", sam) == []
    assert [h.conversation_id for h in queue.inbox("tickets", mara)] == ["c-night"]
    assert queue.resolve(waiting[1].id, mara)
    assert [h.conversation_id for h in queue.inbox("resolved", mara)] == ["c-b"]
    assert queue.counts(mara) == {"waiting": 1, "mine": 0, "tickets": 1, "resolved": 1}
