"""The trainer's Conversations pages in the console: the list with its filters, one conversation turn by
turn, and the marks a trainer keeps; what bad input gets."""
from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from bot.settings import Settings
from bot.trainer.story_checks import StoryChecks
from bot.trainer.story_export import StoryFailed
from tests.bot.test_console import csrf_of
from tests.bot.test_console_trainer import cookies_of, get, trainer_console
from tests.bot.test_trainer_inbox import action, bot, said


@pytest.fixture
def console(make_app, tmp_path):
    yield from trainer_console(make_app, tmp_path)


def rows(page_text):
    return re.findall(r'<tr><td><a href="/console/conversations/([^"]+)">', page_text)


def test_the_list_filters_and_links_each_conversation(console):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    page = get(app, "/console/conversations", tess)
    assert page.status == 200 and 'href="/console/conversations"' in page.text  # in the menu
    assert {"c-fallback-1", "c-low", "c-thumbs", "c-script"} <= set(rows(page.text))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    fallback = get(app, "/console/conversations?fallback=1&q=beans", tess)
    assert sorted(rows(fallback.text)) == ["c-fallback-1", "c-fallback-2", "c-script"]
    assert 'name="fallback" value="1" checked' in fallback.text and 'value="beans"' in fallback.text
    low = get(app, "/console/conversations?low=1", tess)
    assert rows(low.text) == ["c-low"] and "1 low confidence" in low.text
    assert rows(get(app, "/console/conversations?intent=invoice", tess).text) == ["c-low"]
    assert "No conversation matches." in get(app, "/console/conversations?reviewed=yes", tess).text


def test_bad_filters_are_400_and_owners_only_get_403(console):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    for query, words in [("from=yesterday", "is not a date"), ("from=2026-03-01&to=2026-01-01", "is after"),
                         ("from=2024-01-01&to=2026-01-01", "at most 366"), ("rating=7", "rating must be"),
                         ("reviewed=maybe", "reviewed must be"), ("intent=not_an_intent", "not an intent"),
                         ("page=0", "page must be"), ("q=" + "x" * 201, "at most 200")]:
        reply = get(app, f"/console/conversations?{query}", tess)
        assert reply.status == 400 and words in reply.text, query
    mara = cookies_of(app, "mara@example.com")
    assert get(app, "/console/conversations", mara).status == 403
    assert get(app, "/console/conversations/c-low", mara).status == 403
    assert get(app, "/console/conversations", {}).status == 303  # anonymous: to the sign-in
    assert get(app, "/console/conversations/no-such-one", tess).status == 404


def test_a_conversation_turn_by_turn_with_marks(console):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    page = get(app, "/console/conversations/c-low", tess)
    assert page.status == 200
    assert "got a receipt for the grinder?" in page.text
    assert "invoice 0.41 · runner-up product_question 0.35" in page.text
    assert "utter_invoice" in page.text and "Not reviewed yet." in page.text
    event_id = re.search(r'id="turn-(\d+)"', page.text).group(1)
    csrf = csrf_of(page.text)

    def post(what, **form):
        _, reply = app.test_client.post(f"/console/conversations/c-low/{what}", cookies=tess,
                                        data={"csrf": csrf, **form}, allow_redirects=False)
        return reply

    assert post("reviewed", reviewed="yes").status == 303
    assert post("tags", tags="receipts, grinder").status == 303
    flagged = post("flag", event=event_id, note="a receipt is an <b>invoice</b>")
    assert flagged.status == 303
    assert flagged.headers["location"] == f"/console/conversations/c-low#turn-{event_id}"
    after = get(app, "/console/conversations/c-low", tess)
    assert "Reviewed by tess@example.com" in after.text and 'value="receipts, grinder"' in after.text
    assert "a receipt is an &lt;b&gt;invoice&lt;/b&gt;" in after.text and "Remove the flag" in after.text
    listed = get(app, "/console/conversations?reviewed=yes&tag=grinder", tess)
    assert rows(listed.text) == ["c-low"] and "receipts, grinder" in listed.text
    assert post("unflag", event=event_id).status == 303
    assert "Remove the flag" not in get(app, "/console/conversations/c-low", tess).text


def test_bad_marks_change_nothing(console, tmp_path):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    page = get(app, "/console/conversations/c-low", tess)
    csrf = csrf_of(page.text)
    other = re.search(r'id="turn-(\d+)"', get(app, "/console/conversations/c-thumbs", tess).text).group(1)

    def post(path, **form):
        _, reply = app.test_client.post(path, cookies=tess, data=form, allow_redirects=False)
        return reply

    assert post("/console/conversations/c-low/reviewed", csrf="forged", reviewed="yes").status == 403
    assert post("/console/conversations/c-low/reviewed", csrf=csrf, reviewed="maybe").status == 400
    assert post("/console/conversations/c-low/rename", csrf=csrf).status == 404
    assert post("/console/conversations/nobody/reviewed", csrf=csrf, reviewed="yes").status == 404
    refused = post("/console/conversations/c-low/flag", csrf=csrf, event=other, note="not mine")
    assert refused.status == 400 and "of this conversation" in refused.text
    assert post("/console/conversations/c-low/flag", csrf=csrf, event="99999999999999999999").status == 400
    assert post("/console/conversations/c-low/unflag", csrf=csrf, event=other).status == 400
    tags = post("/console/conversations/c-low/tags", csrf=csrf, tags="x" * 41)
    assert tags.status == 400 and "at most 40 characters" in tags.text
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    with engine.connect() as connection:
        assert connection.execute(select(t.conversation_reviews)).all() == []
        assert connection.execute(select(t.flagged_turns)).all() == []
    engine.dispose()


def test_an_odd_conversation_id_has_its_own_page(console, tmp_path):
    from tests.actions.test_figures import add_conversations

    app, _ = console
    odd = "shop/customer 7?x=1#a"
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    add_conversations(engine, {odd: [said(5, "do you sell decaf", "product_question", 0.9),
                                     action(6, "action_product_answer"),
                                     bot(6, "Yes, the Swiss water decaf.")]})
    engine.dispose()
    tess = cookies_of(app, "tess@example.com")
    link = "/console/conversations/" + quote(odd, safe="")
    assert link in get(app, "/console/conversations", tess).text
    page = get(app, link, tess)
    assert page.status == 200 and "Yes, the Swiss water decaf." in page.text
    _, marked = app.test_client.post(link + "/reviewed", cookies=tess, allow_redirects=False,
                                     data={"csrf": csrf_of(page.text), "reviewed": "yes"})
    assert marked.status == 303 and marked.headers["location"] == link
    assert "Reviewed by tess@example.com" in get(app, link, tess).text


def test_a_conversation_corrected_and_saved_as_a_test(console, tmp_path):
    """The bot answered a question about Sunday with a greeting; the trainer picks the right action and the
    test is checked against the real model in the background, then written."""
    from tests.actions.test_figures import add_conversations
    from tests.bot.servers import MODEL

    app, _ = console
    stories = tmp_path / "stories"
    app.ctx.settings = Settings(**{**app.ctx.settings.__dict__, "test_stories_dir": stories,
                                   "training_log_dir": tmp_path / "training", "model_path": MODEL})
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    add_conversations(engine, {"c-sunday": [
        action(0, "action_listen"), said(1, "what time do you open on sunday?", "opening_hours", 0.95),
        action(2, "utter_greet"), action(3, "action_listen")]})
    tess = cookies_of(app, "tess@example.com")
    page = get(app, "/console/conversations/c-sunday", tess)
    wrong = re.search(r'<select id="action-(\d+)" name="action-\d+"><option[^>]*>', page.text)
    step = wrong.group(1)
    message = re.search(r'id="intent-(\d+)"', page.text).group(1)
    csrf = csrf_of(page.text)

    def save(**form):
        _, reply = app.test_client.post("/console/conversations/c-sunday/test", cookies=tess,
                                        data={"csrf": csrf, **form}, allow_redirects=False)
        return reply

    refused = save(**{f"intent-{message}": "not_an_intent"})
    assert refused.status == 400 and "not an intent of the domain: not_an_intent" in refused.text
    assert save(**{f"action-{step}": "action_nonsense"}).status == 400
    started = save(**{f"intent-{message}": "opening_hours", f"action-{step}": "action_answer_faq"})
    assert started.status == 303 and started.headers["location"].endswith("#test-status")
    checking = get(app, "/console/conversations/c-sunday", tess).text
    assert "Checking the conversation test" in checking and 'http-equiv="refresh"' in checking
    assert save(**{f"action-{step}": "action_answer_faq"}).status == 409  # one check at a time
    deadline = time.monotonic() + 300
    while "Checking the conversation test" in get(app, "/console/conversations/c-sunday", tess).text:
        assert time.monotonic() < deadline, "the check did not end"
        time.sleep(2)
    done = get(app, "/console/conversations/c-sunday", tess).text
    written = stories / "test_conversation_c-sunday.yml"
    assert "Saved as a conversation test" in done and written.is_file(), done[-2000:]
    steps = yaml.safe_load(written.read_text())["stories"][0]["steps"]
    assert {"action": "action_answer_faq"} in steps and {"action": "utter_greet"} not in steps
    again = save(**{f"action-{step}": "action_answer_faq"})
    assert again.status == 409 and "exists already" in again.text
    engine.dispose()


def test_a_failed_check_is_kept_with_rasas_account(tmp_path):
    checks = StoryChecks(tmp_path)

    def failing():
        raise StoryFailed("- action: utter_greet  # predicted: action_answer_faq")

    checks.start("c-1", "tess", tmp_path / "x.yml", failing)
    deadline = time.monotonic() + 10
    while checks.get("c-1").state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    check = checks.get("c-1")
    assert check.state == "failed" and "predicted: action_answer_faq" in check.detail
    assert checks.get("c-other") is None
