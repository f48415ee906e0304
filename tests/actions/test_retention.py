"""Whether customers come back, on conversations, ratings and orders whose answers we worked out by hand.

Conversations: the range is Mon 8 – Sun 14 June 2026 in London (BST, UTC+1).

- ann-1 Thu 4 Jun: order_status (before the range). ann-2 Wed 10 Jun: hello, order_status: returning, and a
  repeat contact (order_status 5 days 23 h before).
- ben-1 Mon 1 Jun: damaged_item. ben-2 Thu 11 Jun: damaged_item: returning, not a repeat (10 days later).
- cat-1 Tue 9 Jun: the widget's /greet, refund_status: new. cat-2 Fri 12 Jun: not understood, then
  refund_status: returning and a repeat (the problem is the first request, past the fallback).
- dan-1 Sat 13 Jun, proved by phone: a person please, wrong_item: new.
- eve-1 proved an email on 2 Jun in a chat with no messages stored; eve-2 Mon 8 Jun: payment_issue:
  returning (by the earlier link), not a repeat.
- fay-1 wrote invoice on Sat 6 Jun without proving anything, then invoice again on Tue 9 Jun and proved her
  email: the same browser came back: returning and a repeat.
- anon-1 Mon 8 Jun and anon-2 Sun 14 Jun 23:30 (22:30 UTC): anonymous. ann-3 Mon 15 Jun 00:30 (Sun 23:30 UTC)
  is after the range.

7 conversations of known customers: 5 returning (ann-2, ben-2, cat-2, eve-2, fay-1), 3 repeats (ann-2, cat-2,
fay-1); 2 anonymous.

Orders, March – May 2026 by month: March's customers a, b, c, d (c at 23:30 on 31 March, BST); April's a
(in capitals), c (23:30 on 30 April) and e, and an erased order; May's a (00:30 on 1 May, still 30 April in
UTC), e and f. March to April: a and c of 4 came back (50%); April to May: a and e of 3 (67%).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Dict, List, Optional

import pytest
from rasa.shared.core.events import Event
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.customers.identity import link_conversation
from actions.services.customers.retention import (
    REPEAT,
    RETENTION,
    RETURNING,
    CustomerFigures,
    collect_customer_figures,
)
from actions.services.figures import FigureRange
from tests.actions.test_figures import LONDON, add_conversations, add_feedback, cli, stored, user
from tests.conftest import migrated_engine

JUNE = FigureRange(dt.date(2026, 6, 8), dt.date(2026, 6, 14))
SPRING = FigureRange(dt.date(2026, 3, 1), dt.date(2026, 5, 31), "month")

CONVERSATIONS: Dict[str, List[Event]] = {
    "ann-1": [user("2026-06-04 10:00:00", "where is my order", "order_status")],
    "ann-2": [user("2026-06-10 09:00:00", "hello", "greet"),
              user("2026-06-10 09:00:20", "where is my order", "order_status")],
    "ann-3": [user("2026-06-15 00:30:00", "where is it now", "order_status")],
    "ben-1": [user("2026-06-01 12:00:00", "my mug arrived broken", "damaged_item")],
    "ben-2": [user("2026-06-11 12:00:00", "the new mug is broken too", "damaged_item")],
    "cat-1": [user("2026-06-09 10:00:00", "/greet", "greet"),
              user("2026-06-09 10:00:10", "where is my refund", "refund_status")],
    "cat-2": [user("2026-06-12 15:00:00", "blorp", "nlu_fallback"),
              user("2026-06-12 15:00:30", "my refund still isn't here", "refund_status")],
    "dan-1": [user("2026-06-13 10:00:00", "a person please", "human_handoff"),
              user("2026-06-13 10:01:00", "you sent me the wrong grinder", "wrong_item")],
    "eve-2": [user("2026-06-08 16:00:00", "my card was charged twice", "payment_issue")],
    "fay-1": [user("2026-06-06 10:00:00", "can I get an invoice", "invoice"),
              user("2026-06-09 10:00:00", "still no invoice", "invoice")],
    "anon-1": [user("2026-06-08 11:00:00", "when are you open", "opening_hours")],
    "anon-2": [user("2026-06-14 23:30:00", "how much is shipping", "shipping_options")],
}

# (conversation, how, shop time, email, phone)
LINKS = [
    ("ann-1", "order", "2026-06-04 10:01:00", "ann@example.com", None),
    ("ann-2", "order", "2026-06-10 09:01:00", "ann@example.com", None),
    ("ann-3", "order", "2026-06-15 00:31:00", "ann@example.com", None),
    ("ben-1", "complaint", "2026-06-01 12:05:00", "ben@example.com", None),
    ("ben-2", "complaint", "2026-06-11 12:05:00", "BEN@example.com", None),
    ("cat-1", "ticket", "2026-06-09 10:02:00", "cat@example.com", None),
    ("cat-2", "ticket", "2026-06-12 15:02:00", "cat@example.com", None),
    ("dan-1", "order", "2026-06-13 10:02:00", None, "447700900123"),
    ("eve-1", "ticket", "2026-06-02 09:00:00", "eve@example.com", None),
    ("eve-2", "order", "2026-06-08 16:01:00", "eve@example.com", None),
    ("fay-1", "ticket", "2026-06-09 10:01:00", "fay@example.com", None),
]

# (conversation, kind, score, declined, shop time)
RATINGS = [
    ("ann-1", "csat", 1, False, "2026-06-04 10:05:00"),  # before the range
    ("ann-2", "csat", 5, False, "2026-06-10 09:05:00"),
    ("ann-2", "nps", 9, False, "2026-06-10 09:06:00"),
    ("ben-2", "csat", 2, False, "2026-06-11 12:10:00"),
    ("ben-2", "nps", 10, False, "2026-06-11 12:11:00"),
    ("cat-1", "csat", 4, False, "2026-06-09 10:05:00"),
    ("cat-1", "nps", 10, False, "2026-06-09 10:06:00"),
    ("cat-2", "nps", 6, False, "2026-06-12 15:05:00"),
    ("dan-1", "csat", None, True, "2026-06-13 10:05:00"),
    ("anon-1", "csat", 1, False, "2026-06-08 11:05:00"),
    ("anon-1", "nps", 7, False, "2026-06-08 11:06:00"),
    ("anon-1", "thumb", 1, False, "2026-06-08 11:07:00"),  # not a rating: in no group
]

# (email as stored, shop time)
ORDERS = [
    ("g@example.com", "2026-02-20 10:00"),  # before the range
    ("a@example.com", "2026-03-03 10:00"),
    ("b@example.com", "2026-03-10 10:00"),
    ("c@example.com", "2026-03-31 23:30"),
    (" D@Example.com ", "2026-03-15 10:00"),
    ("", "2026-03-20 10:00"),  # erased
    ("A@EXAMPLE.COM", "2026-04-02 10:00"),
    ("c@example.com", "2026-04-30 23:30"),
    ("e@example.com", "2026-04-15 10:00"),
    ("", "2026-04-05 10:00"),  # erased
    ("", "2026-05-05 10:00"),  # erased
    ("a@example.com", "2026-05-01 00:30"),  # 30 April 23:30 UTC
    ("e@example.com", "2026-05-20 10:00"),
    ("f@example.com", "2026-05-03 10:00"),
    ("b@example.com", "2026-06-01 10:00"),  # after the range
]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


def link_all(engine: Engine) -> None:
    with engine.begin() as connection:
        for conversation, how, when, email, phone in LINKS:
            link_conversation(connection, conversation, how=how, at=stored(when), email=email, phone=phone)


def rate(conversation: str, kind: str, score: Optional[int], declined: bool, when: str) -> tuple:
    return (conversation, kind, score, "", declined, "", False, "", when)


def add_orders(engine: Engine, orders: List[tuple]) -> None:
    with engine.begin() as connection:
        for number, (email, when) in enumerate(orders, start=1000):
            connection.execute(t.orders.insert().values(
                number=f"KC-{number}", email=email, phone=None, customer_name="", status="delivered",
                placed_at=stored(when), shipping_option="Royal Mail", shipping_address="",
                total=Decimal("12.50"), currency="GBP", source="shopify", updated_at=stored(when)))


def build_customer_data(engine: Engine) -> None:
    """The conversations, links, ratings and orders of the module's docstring."""
    add_conversations(engine, CONVERSATIONS)
    link_all(engine)
    add_feedback(engine, *[rate(*row) for row in RATINGS])
    add_orders(engine, ORDERS)


@pytest.fixture
def customers(engine) -> Engine:
    build_customer_data(engine)
    return engine


def figures_of(engine: Engine, figure_range: FigureRange = JUNE) -> CustomerFigures:
    return collect_customer_figures(engine, LONDON, figure_range)


def test_returning_customers_are_those_who_wrote_before_in_any_of_their_chats(customers):
    figures = figures_of(customers)
    assert (figures.returning.part, figures.returning.whole) == (5, 7)
    assert figures.returning.rate == pytest.approx(5 / 7)
    assert figures.anonymous_conversations == 2
    assert figures.returning.definition == RETURNING


def test_a_repeat_contact_asked_about_the_same_problem_in_the_7_days_before(customers):
    repeats = figures_of(customers).repeat_contacts
    assert (repeats.part, repeats.whole) == (3, 7)  # ann-2, cat-2, fay-1; not ben-2 after 10 days
    assert repeats.definition == REPEAT


def test_the_7_days_are_counted_to_the_second(engine):
    """ben asks again exactly 7 days after, then a second after that: the first is a repeat, the other not."""
    add_conversations(engine, {
        "b-1": [user("2026-06-03 12:00:00", "broken", "damaged_item")],
        "b-2": [user("2026-06-10 12:00:00", "broken again", "damaged_item")],
        "z-1": [user("2026-06-03 12:00:00", "broken", "damaged_item")],
        "z-2": [user("2026-06-10 12:00:01", "broken again", "damaged_item")],
    })
    with engine.begin() as connection:
        for conversation, email in (("b-1", "b@x.com"), ("b-2", "b@x.com"), ("z-1", "z@x.com"),
                                    ("z-2", "z@x.com")):
            link_conversation(connection, conversation, how="order", at=stored("2026-06-03 12:00:00"),
                              email=email)
    figures = figures_of(engine)
    assert (figures.repeat_contacts.part, figures.repeat_contacts.whole) == (1, 2)
    assert (figures.returning.part, figures.returning.whole) == (2, 2)


def test_csat_and_nps_of_new_returning_and_anonymous_customers(customers):
    figures = figures_of(customers)
    returning, new, anonymous = figures.returning_ratings, figures.new, figures.anonymous
    # returning: ann-2 5, ben-2 2; NPS ann-2 9, ben-2 10, cat-2 6
    assert (returning.csat.count, returning.csat.average, returning.csat.declined) == (2, 3.5, 0)
    assert (returning.nps.promoters, returning.nps.detractors, returning.nps.count) == (2, 1, 3)
    assert returning.nps.score == pytest.approx(100 / 3)
    # new: cat-1 4 and 10; dan-1 declined
    assert (new.csat.count, new.csat.average, new.csat.declined) == (1, 4.0, 1)
    assert (new.nps.count, new.nps.score) == (1, 100.0)
    # anonymous: anon-1 1 and 7; ann-1's 1 was before the range, the thumb is no rating
    assert (anonymous.csat.count, anonymous.csat.average) == (1, 1.0)
    assert (anonymous.nps.count, anonymous.nps.passives, anonymous.nps.score) == (1, 1, 0.0)
    assert "anonymous" in figures.ratings_definition


def test_retention_from_one_month_to_the_next_leaves_erased_orders_out(customers):
    retention = figures_of(customers, SPRING).retention
    assert retention.by == "month"
    steps = retention.steps
    assert [(s.start.isoformat(), s.next_start.isoformat(), s.customers, s.retained) for s in steps] == [
        ("2026-03-01", "2026-04-01", 4, 2),  # a, b, c, d: a and c again
        ("2026-04-01", "2026-05-01", 3, 2),  # a, c, e: a and e again
    ]
    assert [s.rate for s in retention.steps] == [0.5, pytest.approx(2 / 3)]
    assert (steps[-1].end, steps[-1].next_end) == (dt.date(2026, 4, 30), dt.date(2026, 5, 31))
    overall = retention.overall
    assert (overall.part, overall.whole) == (4, 7)
    assert "erased" in overall.definition and "month" in overall.definition


def test_retention_is_weekly_when_the_figures_are_by_day(engine):
    add_orders(engine, [("x@example.com", "2026-06-02 10:00"), ("y@example.com", "2026-06-03 10:00"),
                        ("x@example.com", "2026-06-09 10:00")])
    retention = figures_of(engine, FigureRange(dt.date(2026, 6, 1), dt.date(2026, 6, 14))).retention
    assert retention.by == "week"
    assert [(s.start, s.end, s.next_start, s.next_end, s.customers, s.retained) for s in retention.steps] == [
        (dt.date(2026, 6, 1), dt.date(2026, 6, 7), dt.date(2026, 6, 8), dt.date(2026, 6, 14), 2, 1)]
    assert "week" in retention.definition


def test_a_fresh_database_gives_nothing_to_divide(engine):
    figures = figures_of(engine)
    assert figures.returning.whole == figures.repeat_contacts.whole == figures.anonymous_conversations == 0
    assert figures.returning.rate is None and figures.retention.overall.rate is None
    assert figures.new.csat.count == 0 and figures.anonymous.nps.score is None
    assert figures.retention.steps == ()  # the range is one week: no next week to come back in


def test_ratings_of_a_known_customer_without_messages_in_the_range_are_grouped_by_their_past(engine):
    """eve rated in the range from a chat with no message in it: she had written before, so returning."""
    add_conversations(engine, {"eve-1": [user("2026-06-01 10:00:00", "invoice please", "invoice")]})
    with engine.begin() as connection:
        link_conversation(connection, "eve-1", how="ticket", at=stored("2026-06-01 10:01:00"),
                          email="eve@example.com")
    add_feedback(engine, rate("eve-1", "csat", 5, False, "2026-06-08 09:00:00"))
    figures = figures_of(engine)
    assert figures.returning_ratings.csat.count == 1 and figures.new.csat.count == 0
    assert figures.returning.whole == 0  # no conversation in the range


# ---- the command line ----

def test_the_report_prints_the_customer_figures_with_their_definitions(tmp_path, sqlite_engine):
    build_customer_data(sqlite_engine)
    run = cli(tmp_path, "--since", "2026-06-08", "--until", "2026-06-14")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    start = lines.index("CUSTOMERS")
    assert lines[start + 1:start + 6] == [
        "Returning customers               71% (5 of 7 chats of known customers); 2 anonymous chats apart",
        "    Of the chats of known customers (who proved an email or phone in a chat), the share whose",
        "    customer had written to us before it began: in another chat, or on an earlier visit from the",
        "    same browser (a new chat after an hour without messages).",
        "Repeat contacts within 7 days     43% (3 of 7 chats)"]
    text = run.stdout
    for expected in ("CSAT new / returning / anonymous  4.0 / 3.5 / 1.0 (from 1 / 2 / 1 ratings)",
                     "NPS new / returning / anonymous   +100 / +33 / 0 (from 1 / 3 / 1 answers)",
                     "    The 0-10 answers given in the range, in the same three groups as CSAT.",
                     "Customer retention, week to week  – (0 of 0 customers ordered again the next week)",
                     "(the range has no next week to come back in)"):
        assert expected in text, expected
    assert text.index("CUSTOMERS") < text.index("THUMBS DOWN")


def test_the_report_by_month_has_the_retention_trend(tmp_path, sqlite_engine):
    build_customer_data(sqlite_engine)
    run = cli(tmp_path, "--since", "2026-03-01", "--until", "2026-05-31", "--by", "month")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    start = lines.index("Customer retention, month to month  57% (4 of 7 customers ordered again the next "
                        "month)")
    assert all(line.startswith("    ") for line in lines[start + 1:start + 3])  # the definition, beside it
    assert " ".join(line.strip() for line in lines[start + 1:start + 3]) == RETENTION.format(by="month")
    assert lines[start + 3:start + 6] == [
        "month         next  customers  again  retention",
        "Mar 2026  Apr 2026          4      2        50%",
        "Apr 2026  May 2026          3      2        67%"]


def test_a_browser_that_comes_back_is_a_returning_customer_in_its_later_chat(engine):
    """The widget keeps one conversation per browser; Rasa starts a new chat (a session) in it after an hour:
    the second day's chat is a returning customer's, and a rating in it counts as returning."""
    from rasa.shared.core.events import SessionStarted

    add_conversations(engine, {"browser": [
        SessionStarted(timestamp=at_shop("2026-06-09 10:00:00")),
        user("2026-06-09 10:00:05", "where is my order", "order_status"),
        SessionStarted(timestamp=at_shop("2026-06-11 18:00:00")),
        user("2026-06-11 18:00:05", "my order still hasn't come", "order_status"),
    ]})
    with engine.begin() as connection:
        link_conversation(connection, "browser", how="order", at=stored("2026-06-09 10:01:00"),
                          email="gil@example.com")
    add_feedback(engine, rate("browser", "csat", 5, False, "2026-06-11 18:05:00"))

    figures = figures_of(engine)

    assert (figures.returning.part, figures.returning.whole) == (1, 2)
    assert (figures.repeat_contacts.part, figures.repeat_contacts.whole) == (1, 2)  # order_status again
    assert (figures.new.csat.count, figures.returning_ratings.csat.count) == (0, 1)


def at_shop(when: str) -> float:
    return stored(when).replace(tzinfo=dt.timezone.utc).timestamp()
