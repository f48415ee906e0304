"""The owner's figures on a set of conversations whose right answers we worked out by hand.

Rasa's own SQLTrackerStore writes the conversations (so the figures read exactly what Rasa stores); the
handoffs and feedback rows go straight into the project's tables. The shop is in London and the week is in
June (BST, UTC+1), so a message at 00:30 shop time is still the day before in UTC.

The range is Fri 5 – Tue 9 June 2026; Mon 8 June starts a new week. By hand:

- c-contained, Fri: greet (typed), opening_hours, thank_you. No handoff.
- c-fallback, Fri: the widget's automatic /greet (not a customer message), nlu_fallback, shipping_options
  (a button). No handoff.
- c-handoff, Sat: /greet, human_handoff twice, and a message to the person who had the chat (not read by
  the bot: no intent, in no message figure). Handed off twice: taken after 4 min and resolved after 30;
  taken after 2 min and handed back after 10.
- c-late: order_status Sun 23:50, goodbye Mon 00:10 (= Sun 23:10 UTC): a Sunday conversation across the
  week boundary. No handoff.
- c-ticket: missing_item, human_handoff Mon 00:30 (= Sun 23:30 UTC), nlu_fallback Tue. A ticket answered by
  email after 9 h; a new request on Tue still waiting.
- c-opened, Sat: only the automatic /greet: no conversation.
- c-before (Thu 23:30) and c-after (Wed 00:15, which is Tue 23:15 UTC): outside the range.

5 conversations, 3 without a handoff: containment 0.6. 12 customer messages the bot read, 2 of them caught
by the fallback.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import subprocess
import sys
from typing import Any, Dict, List, Tuple
from zoneinfo import ZoneInfo

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.feedback_csv import feedback_csv
from actions.services.figures import (
    FigureRange,
    FigureRangeError,
    Figures,
    Period,
    collect_feedback,
    collect_figures,
)
from tests.conftest import ROOT, migrated_engine

LONDON = ZoneInfo("Europe/London")
RANGE = FigureRange(dt.date(2026, 6, 5), dt.date(2026, 6, 9))
WEEKS = FigureRange(RANGE.start, RANGE.end, "week")
MIN = 60
ROYAL_MAIL = "We ship with Royal Mail (2-3 days)."
OPEN = "We are open 9-5."


def at(text: str) -> dt.datetime:
    """'2026-06-05 10:00' on the shop's clock."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=LONDON)


def stored(text: str) -> dt.datetime:
    """The shop's time as the project's tables store it: naive UTC."""
    return at(text).astimezone(dt.timezone.utc).replace(tzinfo=None)


def user(when: str, text: str, intent: str) -> Event:
    return UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=at(when).timestamp())


def bot(when: str, text: str) -> Event:
    return BotUttered(text, timestamp=at(when).timestamp())


CONVERSATIONS: Dict[str, List[Event]] = {
    "c-contained": [
        user("2026-06-05 10:00:00", "hello", "greet"),  # typed: a customer message like any other
        bot("2026-06-05 10:00:01", "Hello! How can I help?"),
        user("2026-06-05 10:00:20", "when are you open?", "opening_hours"),
        bot("2026-06-05 10:00:21", OPEN),
        user("2026-06-05 10:01:00", "thanks", "thank_you"),
    ],
    "c-fallback": [
        user("2026-06-05 14:00:00", "/greet", "greet"),  # the widget opening: not counted
        bot("2026-06-05 14:00:01", "Hi!"),
        user("2026-06-05 14:00:30", "blorp the frobnicator", "nlu_fallback"),
        ActionExecuted("action_two_stage_fallback", timestamp=at("2026-06-05 14:00:31").timestamp()),
        user("2026-06-05 14:00:45", '/shipping_options{"x": 1}', "shipping_options"),  # a button
        bot("2026-06-05 14:00:46", ROYAL_MAIL),
    ],
    "c-handoff": [
        user("2026-06-06 11:00:00", "/greet", "greet"),
        user("2026-06-06 11:00:10", "can I speak to a person", "human_handoff"),
        # to the person who had the chat (the web server records it; the bot never reads it): no intent
        UserUttered("thanks Sam, that's all", timestamp=at("2026-06-06 11:20:00").timestamp()),
        user("2026-06-06 11:41:00", "one more thing, a person again please", "human_handoff"),
    ],
    "c-opened": [user("2026-06-06 12:00:00", "/greet", "greet"), bot("2026-06-06 12:00:01", "Hi!")],
    "c-late": [
        user("2026-06-07 23:50:00", "where is my order", "order_status"),
        user("2026-06-08 00:10:00", "ok bye", "goodbye"),  # Monday in the shop, Sunday in UTC
    ],
    "c-ticket": [
        user("2026-06-08 00:30:00", "my parcel never arrived", "missing_item"),  # Sun 23:30 UTC
        user("2026-06-08 00:30:40", "I want a person", "human_handoff"),
        user("2026-06-09 10:00:00", "any news?", "nlu_fallback"),
    ],
    "c-before": [user("2026-06-04 23:30:00", "where is my order", "order_status")],
    "c-after": [user("2026-06-10 00:15:00", "huh", "nlu_fallback")],  # Tue 23:15 UTC, Wed in the shop
}

# (conversation, status, created, claimed, closed), shop time
HANDOFFS = [
    ("c-handoff", "resolved", "2026-06-06 11:00:30", "2026-06-06 11:04:30", "2026-06-06 11:30:30"),
    ("c-handoff", "returned", "2026-06-06 11:41:30", "2026-06-06 11:43:30", "2026-06-06 11:51:30"),
    ("c-ticket", "resolved", "2026-06-08 00:31:00", "2026-06-08 09:31:00", "2026-06-08 09:31:00"),
    ("c-ticket", "waiting", "2026-06-09 10:00:30", None, None),
    ("c-before", "resolved", "2026-06-04 23:31:00", "2026-06-04 23:32:00", "2026-06-04 23:40:00"),
]

# (conversation, kind, score, comment, declined, intent, with_person, rated answer, shop time)
FEEDBACK = [
    ("c-contained", "thumb", 1, "", False, "opening_hours", False, OPEN, "2026-06-05 10:00:30"),
    ("c-contained", "csat", 5, "", False, "opening_hours", False, "", "2026-06-05 10:01:30"),
    ("c-contained", "nps", 10, "Lovely coffee, quick answers", False, "opening_hours", False, "",
     "2026-06-05 10:02:00"),
    ("c-fallback", "thumb", -1, "", False, "shipping_options", False, ROYAL_MAIL, "2026-06-05 14:01:00"),
    ("c-fallback", "csat", 2, '=HYPERLINK("http://evil.example","click")', False, "shipping_options", False,
     "", "2026-06-05 14:05:00"),
    ("c-handoff", "thumb", -1, "", False, "opening_hours", False, OPEN, "2026-06-06 11:00:20"),
    ("c-handoff", "csat", None, "", True, "human_handoff", True, "", "2026-06-06 11:31:00"),
    ("c-handoff", "csat", 4, "<script>alert(1)</script> Sam sorted it", False, "human_handoff", True, "",
     "2026-06-06 11:52:00"),
    ("c-handoff", "nps", 6, "-slow to pick up", False, "human_handoff", True, "", "2026-06-06 11:53:00"),
    ("c-late", "thumb", -1, "", False, "shipping_options", False, ROYAL_MAIL, "2026-06-07 23:51:00"),
    ("c-late", "nps", 8, "", False, "order_status", False, "", "2026-06-07 23:55:00"),
    ("c-late", "nps", None, "", True, "order_status", False, "", "2026-06-07 23:56:00"),
    ("c-ticket", "thumb", -1, "", False, "shipping_options", False, "Express costs £6.",
     "2026-06-08 00:31:00"),
    ("c-ticket", "feedback", None, "+ please add oat milk", False, "missing_item", False, "",
     "2026-06-08 00:45:00"),  # Sunday 23:45 in UTC
    ("c-ticket", "csat", 4, "", False, "missing_item", True, "", "2026-06-08 09:40:00"),
    ("c-ticket", "nps", 9, "", False, "missing_item", True, "", "2026-06-08 09:41:00"),
    # outside the range: never counted
    ("c-before", "csat", 1, "@SUM(1+1) before the range", False, "order_status", True, "",
     "2026-06-04 23:40:00"),
    ("c-after", "csat", 3, "", False, "nlu_fallback", False, "", "2026-06-10 00:20:00"),
    ("c-after", "nps", 0, "after the range", False, "nlu_fallback", False, "", "2026-06-10 00:21:00"),
]


def tracker_store(engine: Engine) -> SQLTrackerStore:
    """Rasa's SQL tracker store on the test's database (it creates the events table)."""
    url = engine.url
    if url.drivername.startswith("sqlite"):
        return SQLTrackerStore(dialect="sqlite", db=url.database)
    return SQLTrackerStore(dialect="postgresql", host=url.host, port=url.port, db=url.database,
                           username=url.username, password=url.password)


def add_conversations(engine: Engine, conversations: Dict[str, List[Event]]) -> None:
    store = tracker_store(engine)

    async def save_all() -> None:
        for sender, events in conversations.items():
            tracker = DialogueStateTracker(sender, [])
            for event in events:
                tracker.update(event)
            await store.save(tracker)

    asyncio.run(save_all())
    store.engine.dispose()


def add_feedback(engine: Engine, *rows: Tuple[Any, ...]) -> None:
    with engine.begin() as connection:
        for conversation, kind, score, comment, declined, intent, person, answer, when in rows:
            connection.execute(t.feedback.insert().values(
                conversation_id=conversation, kind=kind, score=score, comment=comment, declined=declined,
                intent=intent, with_person=person, message_text=answer, customer_key="",
                created_at=stored(when)))


def build_shop_data(engine: Engine) -> None:
    """The conversations, handoffs and answers of the module's docstring."""
    add_conversations(engine, CONVERSATIONS)
    with engine.begin() as connection:
        for conversation, status, created, claimed, closed in HANDOFFS:
            connection.execute(t.handoffs.insert().values(
                conversation_id=conversation, status=status, reason="human_handoff", summary="{}", tags="",
                created_at=stored(created), claimed_at=stored(claimed) if claimed else None,
                closed_at=stored(closed) if closed else None))
    add_feedback(engine, *FEEDBACK)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def shop_data(engine) -> Engine:
    build_shop_data(engine)
    return engine


def figures_of(engine: Engine, figure_range: FigureRange = RANGE) -> Figures:
    return collect_figures(engine, LONDON, figure_range)


def brief(period: Period) -> Tuple[Any, ...]:
    """One period's figures in one line, to compare with the ones worked out by hand."""
    return (period.start.isoformat(), period.end.isoformat(), period.conversations, period.contained,
            period.messages, period.fallbacks, period.handoffs, period.first_response.median,
            period.resolution.median, period.csat.count, period.csat.average, period.nps.score,
            period.thumbs_up, period.thumbs_down)


# ---- conversations, containment, fallbacks, intents ----

def test_conversations_containment_and_fallback_rate_over_the_range(shop_data):
    total = figures_of(shop_data).total
    assert (total.conversations, total.contained, total.handed_off) == (5, 3, 2)
    assert total.containment_rate == 0.6 and total.handoff_rate == 0.4
    assert (total.messages, total.fallbacks) == (12, 2)
    assert total.fallback_rate == pytest.approx(1 / 6)


def test_top_intents_count_customer_messages_but_not_the_widgets_automatic_greet(shop_data):
    assert figures_of(shop_data).top_intents == (
        ("human_handoff", 3), ("nlu_fallback", 2), ("goodbye", 1), ("greet", 1), ("missing_item", 1),
        ("opening_hours", 1), ("order_status", 1), ("shipping_options", 1), ("thank_you", 1))


def test_every_figure_per_shop_day(shop_data):
    """A conversation counts on the shop day of its first message; messages, handoffs and answers on their
    own shop days, so c-late's goodbye (Sun 23:10 UTC) and c-ticket (Sun 23:30 UTC) are Monday's."""
    assert [brief(p) for p in figures_of(shop_data).series] == [
        ("2026-06-05", "2026-06-05", 2, 2, 5, 1, 0, None, None, 2, 3.5, 100.0, 1, 1),
        ("2026-06-06", "2026-06-06", 1, 0, 2, 0, 2, 3 * MIN, 20 * MIN, 1, 4.0, -100.0, 0, 1),
        ("2026-06-07", "2026-06-07", 1, 1, 1, 0, 0, None, None, 0, None, 0.0, 0, 1),
        ("2026-06-08", "2026-06-08", 1, 0, 3, 0, 1, 9 * 3600, 9 * 3600, 1, 4.0, 100.0, 0, 1),
        ("2026-06-09", "2026-06-09", 0, 0, 1, 1, 1, None, None, 0, None, None, 0, 0),
    ]


def test_every_figure_per_week_starting_on_monday(shop_data):
    """The range starts on a Friday: its first week is Fri-Sun. c-late began on Sunday, so it stays in the
    first week although it went on into Monday."""
    series = figures_of(shop_data, WEEKS).series
    assert [brief(p) for p in series] == [
        ("2026-06-05", "2026-06-07", 4, 3, 8, 1, 2, 3 * MIN, 20 * MIN, 3, pytest.approx(11 / 3), 0.0, 1, 3),
        ("2026-06-08", "2026-06-09", 1, 0, 4, 1, 2, 9 * 3600, 9 * 3600, 1, 4.0, 100.0, 0, 1),
    ]
    assert series[0].containment_rate == 0.75 and series[1].containment_rate == 0.0


# ---- handoff times ----

def test_first_response_and_resolution_times_of_the_handoffs_started_in_the_range(shop_data):
    total = figures_of(shop_data).total
    assert total.handoffs == 4  # c-before's handoff was the day before
    # taken after 4 min, 2 min and 9 h (the ticket answered by email); the waiting one has no time yet
    first = total.first_response
    assert (first.count, first.median, first.mean) == (3, 4 * MIN, (4 * MIN + 2 * MIN + 9 * 3600) / 3)
    # resolved after 30 min, handed back after 10 min, the ticket closed by its email after 9 h
    done = total.resolution
    assert (done.count, done.median, done.mean) == (3, 30 * MIN, (30 * MIN + 10 * MIN + 9 * 3600) / 3)


# ---- CSAT, NPS, comments, thumbs ----

def test_csat_average_and_distribution_leave_the_declined_apart(shop_data):
    figures = figures_of(shop_data)
    csat = figures.total.csat
    assert dict(csat.distribution) == {1: 0, 2: 1, 3: 0, 4: 2, 5: 1}
    assert (csat.count, csat.average, csat.declined) == (4, 3.75, 1)
    assert figures.csat_bot_alone.average == 3.5 and figures.csat_with_person.average == 4.0
    assert (figures.csat_bot_alone.declined, figures.csat_with_person.declined) == (0, 1)


def test_nps_is_promoters_minus_detractors_of_all_answers(shop_data):
    nps = figures_of(shop_data).total.nps
    # 10 and 9 promote, 8 is passive, 6 detracts; the "no thanks" and the 0 after the range do not count
    assert (nps.promoters, nps.passives, nps.detractors, nps.count, nps.declined) == (2, 1, 1, 4, 1)
    assert nps.score == 25.0
    assert [nps.distribution[s] for s in range(11)] == [0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1]


def test_comments_newest_first_with_detractors_and_unhappy_customers_marked(shop_data):
    comments = figures_of(shop_data).comments
    seen = [(c.at.strftime("%a %H:%M"), c.kind, c.score, c.text, c.detractor, c.unhappy) for c in comments]
    assert seen == [
        ("Mon 00:45", "feedback", None, "+ please add oat milk", False, False),
        ("Sat 11:53", "nps", 6, "-slow to pick up", True, False),
        ("Sat 11:52", "csat", 4, "<script>alert(1)</script> Sam sorted it", False, False),
        ("Fri 14:05", "csat", 2, '=HYPERLINK("http://evil.example","click")', False, True),
        ("Fri 10:02", "nps", 10, "Lovely coffee, quick answers", False, False),
    ]
    assert comments[1].with_person and comments[1].conversation_id == "c-handoff"


def test_thumbs_down_grouped_by_intent_with_the_answers_most_frequent_first(shop_data):
    figures = figures_of(shop_data)
    assert (figures.total.thumbs_up, figures.total.thumbs_down) == (1, 4)
    assert [(g.intent, g.count, g.answers) for g in figures.thumbs_down] == [
        ("shipping_options", 3, ((ROYAL_MAIL, 2), ("Express costs £6.", 1))),
        ("opening_hours", 1, ((OPEN, 1),)),
    ]


def test_the_csv_has_every_answer_of_the_range_in_shop_time_and_no_formula_runs(shop_data):
    text = feedback_csv(collect_feedback(shop_data, LONDON, RANGE))
    assert text.startswith("\ufeffdate,time,conversation,kind,score,comment,declined,intent,with_person,"
                           "rated_answer\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert [row[:5] for row in rows] == [
        ["2026-06-05", "10:00", "c-contained", "thumb", "1"],
        ["2026-06-05", "10:01", "c-contained", "csat", "5"],
        ["2026-06-05", "10:02", "c-contained", "nps", "10"],
        ["2026-06-05", "14:01", "c-fallback", "thumb", "-1"],  # a number, not a formula: as it is
        ["2026-06-05", "14:05", "c-fallback", "csat", "2"],
        ["2026-06-06", "11:00", "c-handoff", "thumb", "-1"],
        ["2026-06-06", "11:31", "c-handoff", "csat", ""],
        ["2026-06-06", "11:52", "c-handoff", "csat", "4"],
        ["2026-06-06", "11:53", "c-handoff", "nps", "6"],
        ["2026-06-07", "23:51", "c-late", "thumb", "-1"],
        ["2026-06-07", "23:55", "c-late", "nps", "8"],
        ["2026-06-07", "23:56", "c-late", "nps", ""],
        ["2026-06-08", "00:31", "c-ticket", "thumb", "-1"],
        ["2026-06-08", "00:45", "c-ticket", "feedback", ""],
        ["2026-06-08", "09:40", "c-ticket", "csat", "4"],
        ["2026-06-08", "09:41", "c-ticket", "nps", "9"],
    ]
    assert rows[4][5:] == ['\'=HYPERLINK("http://evil.example","click")', "no", "shipping_options", "no", ""]
    assert rows[8][5:] == ["'-slow to pick up", "no", "human_handoff", "yes", ""]
    assert rows[13][5] == "'+ please add oat milk"
    assert rows[6][5:] == ["", "yes", "human_handoff", "yes", ""]  # declined
    assert rows[3][9] == ROYAL_MAIL and rows[12][9] == "Express costs £6."
    assert "@SUM" not in text and "after the range" not in text


def test_formula_characters_are_guarded_in_every_text_column():
    from actions.services.figures import FeedbackAnswer

    answer = FeedbackAnswer(1, at("2026-06-05 10:00"), "@conv", "thumb", -1, "\t=1+1", False, "=intent",
                            False, "+answer")
    [row] = list(csv.reader(io.StringIO(feedback_csv([answer]).lstrip("\ufeff"))))[1:]
    assert row == ["2026-06-05", "10:00", "'@conv", "thumb", "-1", "'\t=1+1", "no", "'=intent", "no",
                   "'+answer"]


# ---- an empty database, reading at call time, scores outside the scales ----

def test_a_fresh_database_without_rasas_table_gives_zeros_then_counts_what_comes(engine):
    figures = figures_of(engine)
    total = figures.total
    assert (total.conversations, total.messages, total.handoffs, total.csat.count, total.nps.count) == (
        0, 0, 0, 0, 0)
    assert total.containment_rate is None and total.fallback_rate is None and total.nps.score is None
    assert len(figures.series) == 5 and all(p.conversations == 0 for p in figures.series)
    assert figures.top_intents == () and figures.comments == () and figures.thumbs_down == ()
    assert feedback_csv(collect_feedback(engine, LONDON, RANGE)).count("\r\n") == 1  # the header only

    add_conversations(engine, {"c-new": CONVERSATIONS["c-contained"]})  # nothing is cached
    add_feedback(engine, FEEDBACK[1])
    again = figures_of(engine).total
    assert (again.conversations, again.contained, again.csat.average) == (1, 1, 5.0)


def test_scores_outside_the_scales_are_not_counted(engine):
    when = "2026-06-05 12:00:00"
    add_feedback(engine, *[("c", kind, score, "", False, "", False, "", when)
                           for kind, score in (("csat", 0), ("csat", 6), ("nps", -1), ("nps", 11))])
    total = figures_of(engine).total
    assert total.csat.count == 0 and total.nps.count == 0


# ---- the range ----

TODAY = dt.date(2026, 6, 9)


def test_the_range_defaults_to_the_last_28_days_by_day():
    assert FigureRange.parse(None, None, None, TODAY) == FigureRange(dt.date(2026, 5, 13), TODAY, "day")
    chosen = FigureRange.parse("2026-06-01", "", "week", TODAY)
    assert chosen == FigureRange(dt.date(2026, 6, 1), TODAY, "week")


@pytest.mark.parametrize("start, end, by, problem", [
    ("2026-13-01", None, None, "from: '2026-13-01' is not a date like 2026-06-05"),
    ("yesterday", None, None, "from: 'yesterday' is not a date"),
    ("2026-06-09", "2026-06-01", None, r"from \(2026-06-09\) is after to \(2026-06-01\)"),
    ("2025-06-08", "2026-06-09", None, "the range has 367 days; at most 366 at a time"),
    (None, None, "year", "by: 'year' must be day, week or month"),
])
def test_bad_ranges_are_refused_with_the_reason(start, end, by, problem):
    with pytest.raises(FigureRangeError, match=problem):
        FigureRange.parse(start, end, by, TODAY)


def test_366_days_is_the_longest_range_and_weeks_are_cut_at_its_ends():
    assert FigureRange.parse("2025-06-09", "2026-06-09", None, TODAY).days == 366
    spans = FigureRange(dt.date(2026, 6, 3), dt.date(2026, 6, 16), "week").periods()
    assert spans == [(dt.date(2026, 6, 3), dt.date(2026, 6, 7)), (dt.date(2026, 6, 8), dt.date(2026, 6, 14)),
                     (dt.date(2026, 6, 15), dt.date(2026, 6, 16))]


def test_months_are_calendar_months_cut_at_the_ranges_ends():
    months = FigureRange.parse("2026-01-15", "2026-03-10", "month", TODAY)
    assert months.periods() == [(dt.date(2026, 1, 15), dt.date(2026, 1, 31)),
                                (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
                                (dt.date(2026, 3, 1), dt.date(2026, 3, 10))]
    assert [months.bucket(dt.date(2026, m, d)) for m, d in ((1, 20), (2, 28), (3, 1))] == [
        dt.date(2026, 1, 15), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    december = FigureRange(dt.date(2025, 12, 1), dt.date(2026, 1, 31), "month").periods()
    assert december == [(dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
                        (dt.date(2026, 1, 1), dt.date(2026, 1, 31))]


# ---- the command line ----

def cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SHOP_FILE", "BOT_"))}
    clean.update(DATABASE_URL=f"sqlite:///{tmp_path}/actions.db", SHOP_FILE=str(ROOT / "shop.yml"))
    return subprocess.run([sys.executable, "-m", "bot", "report", *args], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_prints_the_figures_and_writes_the_csv(tmp_path, sqlite_engine):
    build_shop_data(sqlite_engine)
    out = tmp_path / "feedback.csv"
    run = cli(tmp_path, "--since", "2026-06-05", "--until", "2026-06-09", "--by", "week", "--csv", str(out))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == ("Kettle & Crumb: figures from Fri 5 Jun 2026 to Tue 9 Jun 2026 (Europe/London), "
                        "by week")
    text = run.stdout
    for expected in ("Conversations                    5",
                     "Solved by the bot alone          60% (3)",
                     "Handed to a person               40% (2)",
                     "Messages not understood          17% (2 of 12)",
                     "Handoffs                         4 started; first response median 4 min, "
                     "mean 3 h 02 min (3 taken); resolution median 30 min, mean 3 h 13 min (3 closed)",
                     "CSAT                             3.8 of 5 from 4 ratings (1 declined)",
                     "CSAT, bot alone / with a person  3.5 / 4.0",
                     "NPS                              +25 from 4 answers: 2 promoters, 1 passive, "
                     "1 detractor (1 declined)",
                     "Thumbs                           1 up, 4 down",
                     "Top intents                      human_handoff 3, not understood (nlu_fallback) 2, "
                     "goodbye 1"):
        assert expected in text, expected
    header = next(i for i, line in enumerate(lines) if line.startswith("week"))
    assert lines[header + 1].split() == ["Fri", "5", "Jun", "–", "Sun", "7", "Jun", "4", "3", "1", "75%", "8",
                                         "1", "13%", "2", "3", "min", "20", "min", "3.7", "0"]
    assert lines[header + 2].split() == ["Mon", "8", "Jun", "–", "Tue", "9", "Jun", "1", "0", "1", "0%", "4",
                                         "1", "25%", "2", "9", "h", "00", "min", "9", "h", "00", "min", "4.0",
                                         "+100"]
    assert "- 2026-06-06 11:53 nps 6 DETRACTOR (c-handoff): -slow to pick up" in text
    assert "- 2026-06-05 14:05 csat 2 UNHAPPY (c-fallback): " in text
    assert f"    2 × {ROYAL_MAIL}" in text
    assert "- 2026-06-08 00:45 feedback (c-ticket): + please add oat milk" in text  # newest first
    assert text.index("oat milk") < text.index("slow to pick up") < text.index("Lovely coffee")
    assert "Wrote 16 ratings, comments and thumbs to" in text
    assert out.read_text(encoding="utf-8-sig").count("\n") == 17


@pytest.mark.parametrize("args, problem", [
    (("--since", "2026-02-30"), "error: --since: '2026-02-30' is not a date like 2026-06-05"),
    (("--since", "2026-06-09", "--until", "2026-06-01"), "error: --since (2026-06-09) is after --until"),
])
def test_the_command_line_refuses_a_bad_date(tmp_path, args, problem):
    run = cli(tmp_path, *args)
    assert run.returncode == 2 and problem in run.stderr and run.stdout == ""



def test_an_answer_a_form_took_is_understood_even_when_the_classifier_was_unsure(engine):
    """'it was great' to the rating question: nlu_fallback by the classifier, but feedback_form took it."""
    add_conversations(engine, {"c-rated": [
        user("2026-06-05 10:00:00", "thanks", "thank_you"),
        ActionExecuted("feedback_form", timestamp=at("2026-06-05 10:00:01").timestamp()),
        user("2026-06-05 10:00:10", "it was great", "nlu_fallback"),
        ActionExecuted("feedback_form", timestamp=at("2026-06-05 10:00:11").timestamp()),
        user("2026-06-05 10:01:00", "blorp", "nlu_fallback"),
        ActionExecuted("action_two_stage_fallback", timestamp=at("2026-06-05 10:01:01").timestamp()),
    ]})
    total = figures_of(engine).total
    assert (total.messages, total.fallbacks) == (3, 1)
    assert dict(figures_of(engine).top_intents) == {"thank_you": 1, "inform": 1, "nlu_fallback": 1}
