"""The channels' inbox and outbox on SQLite and PostgreSQL: a provider's retry is a duplicate, a
conversation's messages are taken and sent one at a time and in order, a process that died frees what it
held, failures are tried again with back-off and then given up with the reason, and the 24-hour window."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.channels.conversations import ChannelConversation, ChannelConversations, LateReplies
from actions.services.channels.inbox import CLAIM_FOR, ChannelInbox, Inbound
from actions.services.channels.outbox import MAX_TRIES, ChannelOutbox
from actions.services.chat_delivery import OutboundMessages
from tests.conftest import SettableClock, migrated_engine

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def clock():
    return SettableClock(NOW)


def jo(message_id: str, text: str = "hi", **more) -> Inbound:
    return Inbound(message_id, "447700900101", name="Jo Baker", text=text, **more)


def test_a_retried_delivery_is_a_duplicate_and_one_address_is_one_random_conversation(engine, clock):
    inbox = ChannelInbox(engine, clock)
    assert inbox.accept("whatsapp", [jo("wamid.1"), jo("wamid.2", "where is my order")]) == (2, 0)
    assert inbox.accept("whatsapp", [jo("wamid.2", "where is my order"), jo("wamid.3")]) == (1, 1)
    assert inbox.accept("telegram", [Inbound("wamid.1", "447700900101", text="same id, other channel")]) == (
        1,
        0,
    )
    with engine.connect() as connection:
        rows = connection.execute(select(t.channel_conversations)).mappings().all()
    by_channel = {row["channel"]: row for row in rows}
    assert set(by_channel) == {"whatsapp", "telegram"}
    wa = by_channel["whatsapp"]
    assert "447700900101" not in wa["conversation_id"] and len(wa["conversation_id"]) == 32
    assert wa["name"] == "Jo Baker" and wa["conversation_id"] != by_channel["telegram"]["conversation_id"]


def test_one_conversations_messages_are_taken_in_order_and_one_at_a_time(engine, clock):
    inbox = ChannelInbox(engine, clock)
    inbox.accept("whatsapp", [jo("a", "first"), jo("b", "second")])
    inbox.accept("whatsapp", [Inbound("c", "447700900202", text="someone else")])
    taken = inbox.claim()
    assert [item.message.text for item in taken] == ["first", "someone else"]  # "second" waits for "first"
    assert inbox.claim() == []  # held: no other process takes them
    first = taken[0]
    queued = inbox.finish(first, [{"text": "Hello!"}, {"text": "How can I help?"}])
    assert len(queued) == 2
    assert [item.message.text for item in inbox.claim()] == ["second"]
    messages = OutboundMessages(engine).of_conversation(first.conversation_id)
    assert [m.text for m in messages.values()] == ["Hello!", "How can I help?"]
    with engine.connect() as connection:  # what they wrote is in the conversation, not kept here twice
        payload = connection.execute(select(t.channel_inbox.c.payload).where(t.channel_inbox.c.id == first.id)
                                     )
        assert payload.scalar_one() == "{}"
    assert inbox.accept("whatsapp", [jo("a", "first")]) == (0, 1)  # still a duplicate


def test_a_message_held_by_a_process_that_died_is_taken_up_again(engine, clock):
    inbox = ChannelInbox(engine, clock)
    inbox.accept("telegram", [Inbound("9", "5550001", text="hello")])
    [item] = inbox.claim()
    assert inbox.claim() == []
    clock.now += CLAIM_FOR + dt.timedelta(seconds=1)
    [again] = inbox.claim()
    assert again.id == item.id and again.attempts == 2


def test_later_puts_a_message_back_after_the_wait(engine, clock):
    inbox = ChannelInbox(engine, clock)
    inbox.accept("telegram", [Inbound("9", "5550001", text="hello")])
    [item] = inbox.claim()
    inbox.later(item, 5)
    assert inbox.claim() == []
    clock.now += dt.timedelta(seconds=6)
    assert [i.id for i in inbox.claim()] == [item.id]


def _queued(engine, clock, texts, channel="whatsapp", address="447700900101"):
    inbox = ChannelInbox(engine, clock)
    inbox.accept(channel, [Inbound(f"m-{address}", address, text="hi")])
    [item] = inbox.claim()
    inbox.finish(item, [{"text": text} for text in texts])
    return item.conversation_id


def test_the_outbox_sends_a_conversations_messages_in_order_and_retries_with_backoff(engine, clock):
    conversation_id = _queued(engine, clock, ["one", "two"])
    outbox = ChannelOutbox(engine, clock)
    [first] = outbox.claim_due()
    assert first.message.text == "one" and first.conversation.address == "447700900101"
    assert outbox.claim_due() == []  # "two" waits for "one"
    assert outbox.failed(first, "WhatsApp failed (HTTP 502)", retry=True) is True
    assert outbox.claim_due() == []  # not due yet
    with engine.connect() as connection:  # the next try in about 2 s (the first back-off, with jitter)
        due = connection.execute(select(t.outbound_messages.c.next_attempt_at).where(
            t.outbound_messages.c.id == first.message.id)).scalar_one()
    assert 1 < (due - NOW.replace(tzinfo=None)).total_seconds() < 3
    clock.now += dt.timedelta(seconds=3)
    [again] = outbox.claim_due()
    assert again.message.id == first.message.id and again.attempt == 2
    outbox.delivered(again.message.id)
    [second] = outbox.claim_due()
    assert second.message.text == "two"
    messages = OutboundMessages(engine).of_conversation(conversation_id)
    assert messages[first.message.id].delivered_at is not None


def test_a_message_is_given_up_after_the_last_try_and_the_next_one_goes(engine, clock):
    _queued(engine, clock, ["one", "two"])
    outbox = ChannelOutbox(engine, clock)
    for attempt in range(1, MAX_TRIES + 1):
        clock.now += dt.timedelta(minutes=6)
        [pending] = outbox.claim_due()
        assert pending.attempt == attempt and pending.message.text == "one"
        again = outbox.failed(pending, "timeout", retry=True)
        assert again is (attempt < MAX_TRIES)
    with engine.connect() as connection:
        row = (
            connection.execute(select(t.outbound_messages).where(t.outbound_messages.c.payload.like("%one%")))
            .mappings()
            .one()
        )
    assert row["failed_at"] is not None and row["error"] == f"gave up after {MAX_TRIES} tries: timeout"
    [pending] = outbox.claim_due()
    assert pending.message.text == "two"


def test_a_refusal_no_retry_mends_is_given_up_at_once(engine, clock):
    _queued(engine, clock, ["one"])
    outbox = ChannelOutbox(engine, clock)
    [pending] = outbox.claim_due()
    assert outbox.failed(pending, "window_closed: re-engagement message") is False
    assert outbox.claim_due() == []


def test_the_parts_of_a_message_already_sent_are_remembered_between_tries(engine, clock):
    _queued(engine, clock, ["one"])
    outbox = ChannelOutbox(engine, clock)
    [pending] = outbox.claim_due()
    assert pending.parts_sent == 0
    assert outbox.failed(pending, "WhatsApp failed (HTTP 502)", retry=True, parts_sent=1) is True
    clock.now += dt.timedelta(minutes=1)
    [again] = outbox.claim_due()
    assert (again.attempt, again.parts_sent, again.message.text) == (2, 1, "one")
    outbox.failed(again, "WhatsApp failed (HTTP 502)", retry=True, parts_sent=1)
    clock.now += dt.timedelta(minutes=1)
    [third] = outbox.claim_due()
    assert (third.attempt, third.parts_sent) == (3, 1)


def test_a_persons_reply_may_go_late_where_the_shop_set_it_up():
    """Meta's HUMAN_AGENT tag on Messenger and Instagram (7 days), an approved template on WhatsApp (any
    time); the bot's own messages (no LateReplies) keep the 24 hours, and Telegram has no window."""
    two_days_ago = NOW - dt.timedelta(days=2)
    late = LateReplies(human_agent=True, whatsapp_template="shop_reply")
    messenger = ChannelConversation("c", "messenger", "61", "Jo", two_days_ago, [])
    assert not messenger.window_open(NOW) and messenger.late_form(NOW) == ("", "")
    assert messenger.window_open(NOW, late) and messenger.late_form(NOW, late) == ("HUMAN_AGENT", "")
    assert messenger.window_closes_at(late) == two_days_ago + dt.timedelta(days=7)
    assert messenger.window_words() == "24 hours"
    assert messenger.window_words(late, before_a_noun=True) == "7-day"
    assert not messenger.window_open(NOW + dt.timedelta(days=6), late)
    assert not messenger.window_open(NOW, LateReplies(whatsapp_template="shop_reply"))  # no permission
    within = ChannelConversation("c", "instagram", "71", "Jo", NOW - dt.timedelta(hours=2), [])
    assert within.window_open(NOW, late) and within.late_form(NOW, late) == ("", "")  # nothing needed yet
    whatsapp = ChannelConversation("c", "whatsapp", "44", "Jo", two_days_ago, [])
    assert whatsapp.window_open(NOW, late) and whatsapp.late_form(NOW, late) == ("", "shop_reply")
    assert whatsapp.window_words(late) == "any time" and whatsapp.window_closes_at(late) is None
    assert not whatsapp.window_open(NOW, LateReplies(human_agent=True))  # no template
    telegram = ChannelConversation("c", "telegram", "55", "Jo", NOW - dt.timedelta(days=30), [])
    assert telegram.window_open(NOW) and telegram.late_form(NOW, late) == ("", "")


def test_widget_conversations_are_not_the_channel_outboxs(engine, clock):
    OutboundMessages(engine, clock).add("a" * 32, "reply", {"text": "for the widget"}, "Mara")
    assert ChannelOutbox(engine, clock).claim_due() == []


def test_the_window_counts_from_the_customers_last_message(engine, clock):
    inbox = ChannelInbox(engine, clock)
    wrote = NOW - dt.timedelta(hours=23)
    inbox.accept("messenger", [Inbound("m1", "6101", text="hi", sent_at=wrote)])
    inbox.accept("telegram", [Inbound("u1", "5550001", text="hi", sent_at=wrote - dt.timedelta(days=9))])
    conversations = ChannelConversations(engine, clock)
    ids = {c: conversations.of(i) for i, c in conversations.all_channels().items()}
    messenger, telegram = ids["messenger"], ids["telegram"]
    assert messenger.window_open(NOW) and not messenger.window_open(NOW + dt.timedelta(hours=2))
    assert messenger.window_closes_at() == wrote + dt.timedelta(hours=24)
    assert telegram.window_open(NOW + dt.timedelta(days=30)) and telegram.window_closes_at() is None
    # An older message delivered late does not move the window back
    inbox.accept("messenger", [Inbound("m0", "6101", text="late", sent_at=wrote - dt.timedelta(hours=5))])
    assert conversations.of(messenger.conversation_id).last_inbound_at == wrote
    assert conversations.channels_of([messenger.conversation_id, "f" * 32]) == {
        messenger.conversation_id: "messenger",
        "f" * 32: "website",
    }


def test_a_numbered_offer_is_remembered_until_the_next_message(engine, clock):
    conversation_id = _queued(engine, clock, ["one"])
    conversations = ChannelConversations(engine, clock)
    conversations.remember_offer(conversation_id, [{"title": "Yes", "payload": "/affirm"}])
    assert conversations.of(conversation_id).offered == [{"title": "Yes", "payload": "/affirm"}]
    conversations.remember_offer(conversation_id, [])
    assert conversations.of(conversation_id).offered == []


def test_a_claim_renewed_while_the_turn_runs_stays_and_lapses_when_no_longer_renewed(engine, clock):
    inbox = ChannelInbox(engine, clock)
    inbox.accept("telegram", [Inbound("9", "5550001", text="hello")])
    [item] = inbox.claim()
    clock.now += CLAIM_FOR * 2 / 3
    inbox.renew([item.id])  # a long turn: the process is alive and says so
    clock.now += CLAIM_FOR * 2 / 3
    assert inbox.claim() == []
    clock.now += CLAIM_FOR  # the process died: no renewal came
    assert [again.id for again in inbox.claim()] == [item.id]


def test_a_message_the_platform_reports_undelivered_later_counts_as_not_delivered(engine, clock):
    conversation_id = _queued(engine, clock, ["one"])
    outbox = ChannelOutbox(engine, clock)
    [pending] = outbox.claim_due()
    outbox.delivered(pending.message.id, "wamid.X")
    assert outbox.failed_later("telegram", "wamid.X", "no") is None  # another channel's id
    assert outbox.failed_later("whatsapp", "wamid.X", "window_closed: (#131047)") == conversation_id
    assert outbox.failed_later("whatsapp", "wamid.X", "again") is None  # counted once
    message = OutboundMessages(engine).of_conversation(conversation_id)[pending.message.id]
    assert message.delivered_at is None and message.failed_at is not None
    assert message.error == "window_closed: (#131047)"
