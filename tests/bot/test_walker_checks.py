"""The walker's own checks must be able to fail: each is tried here on a turn that breaks it and on one
that keeps it, without servers (the walk itself is tests/bot/test_walker.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from tests.bot.walker import checks
from tests.bot.walker.answers import LONG, TYPED, share_out
from tests.bot.walker.chat import LogWatch, Turn
from tests.bot.walker.questions import all_questions, answer_type, load_domain

NOW = dt.datetime(2026, 11, 28, 10, 0)


def turn(*texts: str, status: int = 200) -> Turn:
    return Turn("hi", status, [{"text": text} for text in texts], None, None, [], NOW, 0.1)


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/walk.db")
    migrate(engine)
    yield engine
    engine.dispose()


def test_an_empty_or_refused_reply_is_a_problem(engine):
    assert checks.reply_problems(turn(), engine, "c1") == ["no reply: 200 with an empty list"]
    assert checks.reply_problems(turn(status=202), engine, "c1")  # nobody owns the chat
    assert checks.reply_problems(turn(""), engine, "c1") == ["a reply message without any text"]
    assert checks.reply_problems(turn("Hello!"), engine, "c1") == []


def test_a_case_the_bot_named_must_be_stored_for_that_conversation(engine):
    said = turn("Thank you. I've opened case C-1001 for order KC-10004.")
    assert checks.database_problems(said, engine, "c1") == [
        "said case C-1001, but no such case of this conversation is stored"]
    with engine.begin() as connection:
        connection.execute(t.cases.insert().values(number="C-1001", category="damaged", status="open",
                                                   created_at=NOW, conversation_id="c1"))
    assert checks.database_problems(said, engine, "c1") == []
    assert checks.database_problems(said, engine, "someone-else")


def test_a_declined_rating_must_be_stored(engine):
    said = turn("No problem. Thanks for chatting with us!")
    assert checks.database_problems(said, engine, "c1")
    with engine.begin() as connection:
        connection.execute(t.feedback.insert().values(conversation_id="c1", kind="csat", declined=True,
                                                      created_at=NOW))
    assert checks.database_problems(said, engine, "c1") == []


def test_a_tapped_rating_must_be_stored_with_its_score(engine):
    tapped = '/inform{"rating": "4"}'
    assert checks.tapped_rating_problem(engine, "c1", tapped)
    with engine.begin() as connection:
        connection.execute(t.feedback.insert().values(conversation_id="c1", kind="csat", score=4,
                                                      created_at=NOW))
    assert checks.tapped_rating_problem(engine, "c1", tapped) is None
    assert checks.tapped_rating_problem(engine, "c1", "four stars") is None  # typed: the words decide


def test_nothing_changed_is_false_after_a_write_in_that_turn(engine):
    said = turn("No problem, I've left it there and changed nothing.")
    assert checks.database_problems(said, engine, "c1") == []
    with engine.begin() as connection:
        connection.execute(t.audit_log.insert().values(at=NOW, conversation_id="c1", action="cancel"))
    assert checks.database_problems(said, engine, "c1") == [
        "said nothing changed, but 1 rows were written in that turn"]


def test_a_question_stored_as_a_comment_is_found(engine):
    with engine.begin() as connection:
        connection.execute(t.feedback.insert().values(conversation_id="c1", kind="csat", created_at=NOW,
                                                      comment="What are your opening hours"))
    assert checks.stored_as_answer(engine, "c1", "what are your opening hours") == ["feedback.comment"]
    assert checks.stored_as_answer(engine, "c2", "what are your opening hours") == []


def test_the_opening_hours_answer_is_recognised_loosely():
    assert checks.answers_hours(turn("We're open now, until 17:00 today.\nOur hours: Mon–Thu 08:00–18:00"))
    assert not checks.answers_hours(turn("What email address can the team reach you at about this?"))


def test_only_new_error_lines_count(tmp_path):
    log = tmp_path / "web.log"
    log.write_text("2026-11-28 ERROR old trouble\n")
    watch = LogWatch({"web": log})
    assert watch.new_problems() == []
    with open(log, "a") as out:
        out.write("INFO fine\nTraceback (most recent call last):\n  File x\nValueError: bad\n")
    assert watch.new_problems() == ["[web.log] Traceback (most recent call last):", "[web.log]   File x",
                                    "[web.log] ValueError: bad"]
    assert watch.new_problems() == []


def test_sanics_websocket_task_noise_is_not_ours_but_other_destroyed_tasks_count(tmp_path):
    log = tmp_path / "web.log"
    log.write_text("")
    watch = LogWatch({"web": log})
    sanic = ("2026-12-03 ERROR    asyncio  - Task was destroyed but it is pending!\n"
             "task: <Task pending name='Task-1' coro=<WebsocketImplProtocol.async_data_received() running at "
             "/x/site-packages/sanic/server/websockets/impl.py:780>>\n")
    log.write_text(sanic + "INFO fine\n")
    assert watch.new_problems() == []
    with open(log, "a") as out:
        out.write("2026-12-03 ERROR    asyncio  - Task was destroyed but it is pending!\n"
                  "task: <Task pending name='Task-2' coro=<deliver() running at /work/bot/delivery.py:9>>\n")
    assert watch.new_problems()[0].endswith("Task was destroyed but it is pending!")


def test_every_typed_variant_is_used_in_the_quick_walk():
    variants = TYPED["rating"]
    shared = [share_out(variants, position, 3) for position in range(3)]
    assert sorted(v for mine in shared for v in mine) == sorted(variants) and all(shared)
    assert share_out(("a", "b"), 4, 5) == ["a"]
    assert len(LONG) == 2000


def test_every_slot_gets_answers_of_its_kind():
    domain = load_domain()
    kinds = {slot: answer_type(domain, slot) for _, slot in all_questions(domain)}
    assert kinds["csat_score"] == "rating" and kinds["order_confirmed"] == "yes_no"
    assert kinds["order_id"] == kinds["complaint_order"] == "order_number"
    assert kinds["ticket_email"] == kinds["order_contact"] == "email"
    assert kinds["complaint_text"] == "free_text"
