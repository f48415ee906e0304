"""The customer book (issue 18): finding a customer by each key, and everything their profile holds, with a
neighbour whose orders, conversations, cases, tickets and ratings must never appear in it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from sqlalchemy import select, text

from actions.services import order_tables as t
from actions.services.customers.identity import link_conversation
from actions.services.customers.profiles import CustomerBook, clean_tags
from tests.actions.test_figures import add_conversations

DAY = dt.datetime(2026, 6, 1, 9, 0)  # naive UTC, as stored
NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)


def _stamp(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


def _order(connection, number, email, phone, placed, status="paid", total="24.50", name=""):
    return connection.execute(t.orders.insert().values(
        number=number, email=email, phone=phone, customer_name=name, status=status, placed_at=placed,
        shipping_option="Royal Mail", shipping_address="", total=Decimal(total), currency="GBP",
        source="shopify", updated_at=placed)).inserted_primary_key[0]


def _case(connection, number, category, conversation, order_id=None, status="open", at=DAY):
    connection.execute(t.cases.insert().values(
        number=number, category=category, order_id=order_id, items="", description=f"{category} story",
        status=status, created_at=at, conversation_id=conversation))


def _handoff(connection, conversation, status, at=DAY):
    return connection.execute(t.handoffs.insert().values(
        conversation_id=conversation, status=status, reason="complaint", summary="{}", tags="",
        created_at=at, reply_due_at=at + dt.timedelta(days=1) if status == "ticket" else None)
    ).inserted_primary_key[0]


def _feedback(connection, conversation, kind, score, comment="", at=DAY, declined=False):
    return connection.execute(t.feedback.insert().values(
        conversation_id=conversation, kind=kind, score=score, comment=comment, declined=declined, intent="",
        with_person=False, message_text="", customer_key="", created_at=at)).inserted_primary_key[0]


@pytest.fixture
def shop(engine):
    """Alex (two conversations, an order by email and one by phone only, a complaint, a case about their
    order opened elsewhere, a ticket, a low CSAT and an NPS detractor) and Sam, the neighbour."""
    add_conversations(engine, {
        "conv-alex-1": [
            UserUttered("/greet", timestamp=_stamp(DAY)),  # the widget opening: neither first nor counted
            UserUttered("where is KC-10001?", input_channel="socketio",
                        timestamp=_stamp(DAY + dt.timedelta(minutes=1))),
            BotUttered("It is on its way.", timestamp=_stamp(DAY + dt.timedelta(minutes=2))),
        ],
        "conv-alex-2": [UserUttered("I want to complain", input_channel="rest",
                                    timestamp=_stamp(DAY + dt.timedelta(days=3)))],
        "conv-sam": [UserUttered("hello", input_channel="socketio",
                                 timestamp=_stamp(DAY + dt.timedelta(days=9)))],
    })
    with engine.begin() as connection:
        alex = link_conversation(connection, "conv-alex-1", how="order", at=DAY,
                                 email="Alex.Morgan@example.com", phone="447700900101", name="Alex Morgan")
        link_conversation(connection, "conv-alex-2", how="complaint", at=DAY + dt.timedelta(days=3),
                          email="alex.morgan@example.com")
        sam = link_conversation(connection, "conv-sam", how="ticket", at=DAY + dt.timedelta(days=9),
                                email="sam.patel@example.com", phone="447700900102", name="Sam Patel")
        first = _order(connection, "KC-10001", "alex.morgan@example.com", "447700900101", DAY, "delivered")
        _order(connection, "KC-10011", "alex.work@example.com", "447700900101", DAY + dt.timedelta(days=5),
               total="9.00")
        sams = _order(connection, "KC-10002", "sam.patel@example.com", "447700900102",
                      DAY + dt.timedelta(days=8))
        _order(connection, "KC-10099", "nobody@example.com", None, DAY)
        _case(connection, "C-1001", "complaint", "conv-alex-2", at=DAY + dt.timedelta(days=3))
        _case(connection, "C-1002", "damaged", "conv-elsewhere", order_id=first, status="replaced")
        _case(connection, "C-1003", "missing", "conv-sam", order_id=sams)
        ticket = _handoff(connection, "conv-alex-2", "ticket", DAY + dt.timedelta(days=3))
        _handoff(connection, "conv-sam", "waiting")
        low = _feedback(connection, "conv-alex-1", "csat", 2, "slow <b>answers</b>")
        nps = _feedback(connection, "conv-alex-2", "nps", 3, "meh", at=DAY + dt.timedelta(days=3))
        _feedback(connection, "conv-alex-2", "csat", None, at=DAY + dt.timedelta(days=3), declined=True)
        _feedback(connection, "conv-sam", "nps", 10, "lovely")
        _feedback(connection, "conv-sam", "csat", 1, "sam is cross")
    return CustomerBook(engine, clock=lambda: NOW), alex, sam, ticket, low, nps


@pytest.mark.parametrize("query", ["alex", "MORGAN", "alex.morgan@example.com", "Morgan@EXAMPLE",
                                   "07700 900101", "+44 7700 900101", "447700900101", "900101",
                                   "KC-10001", "kc-10011", "alex.work@example.com"])
def test_search_finds_alex_by_name_email_phone_and_order_number(shop, query):
    book, alex, *_ = shop
    assert [c.id for c in book.search(query)] == [alex]


@pytest.mark.parametrize("query", ["Sam Patel", "07700 900102", "KC-10002"])
def test_search_finds_only_the_neighbour_by_their_keys(shop, query):
    book, _, sam, *_ = shop
    assert [c.id for c in book.search(query)] == [sam]


@pytest.mark.parametrize("query", ["KC-10099", "nobody@example.com", "zebra", "%", "_"])
def test_search_finds_nobody_for_an_order_without_a_customer_or_unknown_words(shop, query):
    book, *_ = shop
    assert book.search(query) == []


def test_an_empty_search_lists_the_most_recently_contacted_first(shop):
    book, alex, sam, *_ = shop
    found = book.search("")
    assert [c.id for c in found] == [sam, alex]
    assert found[1].emails == ("alex.morgan@example.com",) and found[1].phones == ("447700900101",)
    assert found[1].conversations == 2
    assert found[1].last_contact == DAY + dt.timedelta(days=3)
    assert [c.id for c in book.search("", limit=1)] == [sam]


def test_the_profile_holds_alex_and_nothing_of_the_neighbours(shop):
    book, alex, _, ticket, low, nps = shop
    profile = book.profile(alex)
    assert profile.name == "Alex Morgan"
    assert profile.emails == ("alex.morgan@example.com",) and profile.phones == ("447700900101",)
    assert [(o.number, o.status, o.total) for o in profile.orders] == [
        ("KC-10011", "paid", Decimal("9.00")), ("KC-10001", "delivered", Decimal("24.50"))]
    assert [c.number for c in profile.cases] == ["C-1001", "C-1002"]  # their complaint, and about their order
    assert [c.number for c in profile.open_cases] == ["C-1001"]
    assert [(h.id, h.was_ticket) for h in profile.handoffs] == [(ticket, True)]
    assert [f.id for f in profile.ratings if f.score is not None] == [low]
    assert [f.id for f in profile.nps] == [nps]
    assert {f.id for f in profile.feedback if f.unhappy} == {low, nps}
    assert profile.last_rating.id == nps
    said = repr(profile)
    for neighbours in ("sam", "KC-10002", "C-1003", "lovely", "KC-10099"):
        assert neighbours not in said


def test_conversations_have_their_times_messages_channel_and_how_they_were_linked(shop):
    book, alex, *_ = shop
    profile = book.profile(alex)
    latest, first = profile.conversations
    assert (latest.conversation_id, latest.how, latest.channel, latest.messages) == (
        "conv-alex-2", "complaint", "rest", 1)
    assert latest.handoff_id is not None and first.handoff_id is None
    assert (first.conversation_id, first.channel, first.messages) == ("conv-alex-1", "socketio", 2)
    assert first.first_at == DAY + dt.timedelta(minutes=1)  # not the widget's opening
    assert first.last_at == DAY + dt.timedelta(minutes=2)
    assert profile.first_contact == DAY and profile.last_contact == DAY + dt.timedelta(days=3)


def test_customer_for_conversation(shop):
    book, alex, sam, *_ = shop
    assert book.customer_for_conversation("conv-alex-2") == alex
    assert book.customer_for_conversation("conv-sam") == sam
    assert book.customer_for_conversation("an anonymous visitor") is None
    assert book.profile(999) is None


def test_notes_and_tags_are_the_owners_and_only_on_that_customer(shop, engine):
    book, alex, sam, *_ = shop
    assert book.set_notes(alex, "  prefers email\nwholesale buyer  ")
    assert book.set_tags(alex, "VIP, wholesale ,vip, , ")
    assert not book.set_notes(999, "x") and not book.set_tags(999, "x")
    profile = book.profile(alex)
    assert profile.notes == "prefers email\nwholesale buyer"
    assert profile.tags == ("vip", "wholesale")
    assert book.search("")[0].tags == () and book.search("alex")[0].tags == ("vip", "wholesale")
    assert (book.profile(sam).notes, book.profile(sam).tags) == ("", ())
    assert clean_tags("a" * 40) == ("a" * 30,)


def test_a_followup_is_stored_unsent_then_marked_mailed_or_withdrawn(shop, engine):
    book, alex, _, _, low, _ = shop
    sent = book.record_followup(alex, None, "alex.morgan@example.com", "Sorry", "We are sorry.", low)
    assert book.profile(alex).follow_ups[0].mailed_at is None  # not shown as sent before the server took it
    book.mark_mailed(sent)
    refused = book.record_followup(alex, None, "alex.morgan@example.com", "Again", "Hello", None)
    book.withdraw_followup(refused)
    profile = book.profile(alex)
    mailed = NOW.replace(tzinfo=None)
    assert [(f.id, f.subject, f.mailed_at) for f in profile.follow_ups] == [(sent, "Sorry", mailed)]
    assert profile.follow_ups_of(low) == profile.follow_ups
    with engine.connect() as connection:
        assert connection.execute(select(t.customer_followups.c.customer_id)).scalars().all() == [alex]


def test_a_conversation_that_left_their_email_before_linking_is_theirs_too(shop, engine):
    book, alex, *_ = shop
    with engine.begin() as connection:
        old = connection.execute(t.handoffs.insert().values(
            conversation_id="conv-before", status="resolved", reason="human_handoff", summary="{}", tags="",
            contact_email="alex.morgan@example.com", created_at=DAY - dt.timedelta(days=30))
        ).inserted_primary_key[0]
    profile = book.profile(alex)
    earliest = profile.conversations[-1]
    assert (earliest.conversation_id, earliest.how, earliest.handoff_id) == ("conv-before", "email", old)
    assert old in [h.id for h in profile.handoffs]
    assert profile.first_contact == DAY - dt.timedelta(days=30)


def test_a_browsers_visits_count_as_chats_on_the_page_and_in_the_list(shop, engine):
    book, alex, *_ = shop
    later = DAY + dt.timedelta(days=1)
    with engine.begin() as connection:  # the same browser, back the next day and the day after
        for day in (later, later + dt.timedelta(days=1)):
            connection.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES "
                                    "('conv-alex-1', 'session_started', :t, '{}')"), {"t": _stamp(day)})
    chats = {c.conversation_id: c.chats for c in book.profile(alex).conversations}
    assert chats == {"conv-alex-1": 2, "conv-alex-2": 1}  # stored sessions; one without any counts as one
    (summary,) = [s for s in book.search("alex", 10) if s.id == alex]
    assert summary.conversations == 3  # the chats: two in the first conversation, one in the second
