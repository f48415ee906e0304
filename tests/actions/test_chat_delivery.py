"""A person's messages kept until the widget has them; whether the widget is open (SQLite, PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest

from actions.services.chat_delivery import ChatPresence, OutboundMessages
from tests.conftest import SettableClock, migrated_engine

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


def reply(text: str) -> dict:
    return {"text": text, "sender": {"type": "person", "name": "Mara"}}


def test_what_the_widget_has_not_acknowledged_comes_oldest_first_until_it_does(engine):
    outbound = OutboundMessages(engine)
    first = outbound.add("chat-a", "joined", {"text": "Mara joined the chat", "notice": "joined"}, "Mara")
    second = outbound.add("chat-a", "reply", reply("Your parcel left today."), "Mara")
    outbound.add("chat-b", "reply", reply("Someone else's answer"), "Mara")
    assert [m.id for m in outbound.undelivered(["chat-a"])] == [first.id, second.id]
    assert second.for_widget() == {**reply("Your parcel left today."), "delivery_id": second.id,
                                   "time": second.created_at.isoformat()}
    # A widget can acknowledge only its own conversation's messages.
    assert outbound.mark_delivered("chat-b", [first.id]) == 0
    assert outbound.mark_delivered("chat-a", [first.id, second.id]) == 2
    assert outbound.mark_delivered("chat-a", [first.id]) == 0  # once
    assert outbound.undelivered(["chat-a"]) == []
    assert outbound.of_conversation("chat-a")[second.id].delivered_at is not None


def test_an_email_reply_reaches_the_chat_only_once_it_was_mailed_and_is_gone_if_it_failed(engine):
    outbound = OutboundMessages(engine)
    sending = outbound.add("chat-c", "reply", reply("Sent by email"), "Mara", via="email")
    assert outbound.undelivered(["chat-c"]) == []  # the mail may still fail
    outbound.mark_mailed(sending.id)
    assert [m.id for m in outbound.undelivered(["chat-c"])] == [sending.id]
    failed = outbound.add("chat-c", "reply", reply("Never mailed"), "Mara", via="email")
    outbound.withdraw(failed.id)
    assert list(outbound.of_conversation("chat-c")) == [sending.id]
    with pytest.raises(ValueError):
        outbound.add("chat-c", "shout", reply("?"), "Mara")


def test_presence_counts_open_sockets_and_fades_when_a_process_stops_refreshing(engine):
    clock = SettableClock(START)
    presence = ChatPresence(engine, clock)
    assert presence.of("chat-d").connected is False and presence.of("chat-d").seen_at is None
    presence.opened("chat-d")
    presence.opened("chat-d")  # a second tab
    presence.closed("chat-d")
    assert presence.of("chat-d").connected is True
    clock.now += dt.timedelta(seconds=60)
    presence.still_open(["chat-d"])
    clock.now += dt.timedelta(seconds=60)
    assert presence.of("chat-d").connected is True  # refreshed a minute ago
    clock.now += dt.timedelta(seconds=60)  # the process holding the socket died: no refresh for 2 min
    assert presence.of("chat-d").connected is False
    presence.opened("chat-d")  # the stale count is not carried on
    presence.closed("chat-d")
    assert presence.of("chat-d") == presence.of("chat-d").__class__(False, clock.now)
    presence.closed("chat-d")  # never below zero
    presence.opened("chat-d")
    assert presence.of("chat-d").connected is True
