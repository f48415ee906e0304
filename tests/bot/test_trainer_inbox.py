"""The trainer's inbox: which messages are missed, how they group, and what a decision writes.

Rasa's own SQLTrackerStore writes the conversations, so the inbox reads exactly what Rasa stores; the
decisions go to data/nlu (a copy) and to the inbox_decisions table.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.nlp.sentence_classifier import embed
from bot.trainer.inbox import Inbox, InboxError, training_example
from bot.trainer.nlu_files import ExampleRefused, NluFiles
from tests.actions.test_figures import add_conversations, add_feedback

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
NOW = dt.datetime.now(dt.timezone.utc)
SINCE = NOW.replace(tzinfo=None) - dt.timedelta(days=30)


def said(seconds, text, intent, confidence, ranking=(), entities=()):
    parse = {"intent": {"name": intent, "confidence": confidence}, "text": text, "entities": list(entities),
             "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}
    return UserUttered(text, parse["intent"], list(entities), parse, timestamp=(NOW.timestamp() - 3600
                                                                                + seconds))


def bot(seconds, text):
    return BotUttered(text, timestamp=NOW.timestamp() - 3600 + seconds)


def action(seconds, name):
    return ActionExecuted(name, timestamp=NOW.timestamp() - 3600 + seconds)


DELIVERY = [("delivery_time", 0.4), ("order_status", 0.3), ("shipping_options", 0.1)]
CONVERSATIONS = {
    # Two customers ask the same thing in words the model did not know: the fallback caught both.
    "c-fallback-1": [action(0, "action_session_start"),
                     said(1, "how quick do the beans turn up at mine", "nlu_fallback", 0.25, DELIVERY),
                     action(2, "action_default_fallback"), bot(2, "Did you mean…?")],
    "c-fallback-2": [said(10, "how quickly will the beans turn up at my house", "nlu_fallback", 0.28,
                          DELIVERY), action(11, "action_default_fallback")],
    # Answered, but unsure.
    "c-low": [said(20, "got a receipt for the grinder?", "invoice", 0.41,
                   [("invoice", 0.41), ("product_question", 0.35)]), action(21, "utter_invoice")],
    # Answered confidently, then the customer asked for a person.
    "c-person": [said(30, "the lid of my kettle is cracked", "complaint", 0.93, [("complaint", 0.93)]),
                 action(31, "complaint_form"),
                 said(40, "let me talk to someone", "human_handoff", 0.97, [("human_handoff", 0.97)])],
    # Answered confidently, then rephrased.
    "c-rephrase": [said(50, "what time do you shut today", "opening_hours", 0.8, [("opening_hours", 0.8)]),
                   action(51, "action_opening_hours"), bot(51, "We are open 9-5 today."),
                   said(70, "what time do you close today", "opening_hours", 0.95)],
    # Thumbs down on the answer.
    "c-thumbs": [said(80, "do you post to Jersey", "shipping_options", 0.9, [("shipping_options", 0.9)]),
                 action(81, "action_answer_faq"), bot(81, "We ship with Royal Mail (2-3 days).")],
    # Handled well: nothing for the inbox. A fallback that a form took as its answer is not missed either.
    "c-fine": [said(90, "where is my order", "order_status", 0.97, [("order_status", 0.97)]),
               action(91, "order_status_form"),
               said(95, "it's the blue one with the lid", "nlu_fallback", 0.2),
               action(96, "order_status_form"),
               said(99, "/greet", "greet", 1.0)],
    # Personal data in a missed message.
    "c-private": [said(100, "orders KC-10003 mail me at ana@example.org", "nlu_fallback", 0.2, DELIVERY,
                       [{"entity": "order_id", "start": 7, "end": 15, "value": "KC-10003"},
                        {"entity": "email", "start": 27, "end": 42, "value": "ana@example.org"}]),
                  action(101, "action_default_fallback")],
}


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/inbox.db")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def inbox(engine):
    add_conversations(engine, CONVERSATIONS)
    add_feedback(engine, ("c-thumbs", "thumb", -1, "", False, "shipping_options", False,
                          "We ship with Royal Mail (2-3 days).", NOW.strftime("%Y-%m-%d %H:%M:%S")))
    return Inbox(engine, embed)


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", folder)
    return NluFiles(folder, DOMAIN.intents, DOMAIN.entities)


def reasons(inbox):
    return {m.text: m.reasons for m in inbox.missed(SINCE)}


def test_each_kind_of_miss_is_found_and_nothing_else(inbox):
    assert reasons(inbox) == {
        "how quick do the beans turn up at mine": ["fallback"],
        "how quickly will the beans turn up at my house": ["fallback"],
        "got a receipt for the grinder?": ["low confidence"],
        "the lid of my kettle is cracked": ["asked for a person next"],
        "what time do you shut today": ["rephrased next"],
        "do you post to Jersey": ["thumbs down"],
        "orders KC-10003 mail me at ana@example.org": ["fallback"],
    }


def test_similar_messages_are_one_group_biggest_first_with_the_models_suggestions(inbox):
    groups = inbox.groups(SINCE)
    assert [m.text for m in groups[0].messages] == ["how quick do the beans turn up at mine",
                                                    "how quickly will the beans turn up at my house"]
    assert groups[0].id == groups[0].messages[0].event_id
    assert [intent for intent, _ in groups[0].suggestions()] == ["delivery_time", "order_status",
                                                                 "shipping_options"]
    assert sorted(len(g.messages) for g in groups[1:]) == [1] * 5


def test_labelling_a_group_writes_both_examples_and_empties_it(inbox, data, engine):
    group = inbox.groups(SINCE)[0]
    before = (data.folder / "shipping.yml").read_text()
    written, already = inbox.label(group, "delivery_time", data, by="tess@example.com")
    assert written == ["how quick do the beans turn up at mine",
                       "how quickly will the beans turn up at my house"]
    assert already == []
    after = (data.folder / "shipping.yml").read_text()
    assert "    - how quick do the beans turn up at mine\n" in after and len(after) > len(before)
    assert "how quick do the beans turn up at mine" not in reasons(inbox)
    with engine.connect() as connection:
        rows = connection.execute(select(t.inbox_decisions)).all()
    assert {(r.decision, r.intent, r.decided_by) for r in rows} == {("labelled", "delivery_time",
                                                                     "tess@example.com")}


def test_the_trainer_marks_entities_but_cannot_change_the_words(inbox, data):
    group = inbox.groups(SINCE)[0]
    first, second = group.messages
    snapshot = {p.name: p.read_bytes() for p in data.files()}
    with pytest.raises(ExampleRefused, match="changes the customer's words"):
        inbox.label(group, "delivery_time", data, "tess",
                    marked={first.event_id: "how quick do [beans](product) come"})
    with pytest.raises(InboxError, match="not being labelled"):
        inbox.label(group, "delivery_time", data, "tess", only=[first.event_id],
                    marked={second.event_id: "how quickly will the [beans](product) turn up at my house"})
    assert {p.name: p.read_bytes() for p in data.files()} == snapshot
    written, _ = inbox.label(group, "delivery_time", data, "tess",
                             marked={first.event_id: "how quick do the [beans](product)  turn up at mine"})
    assert written[0] == "how quick do the [beans](product) turn up at mine"
    shipping = (data.folder / "shipping.yml").read_text()
    assert "    - how quick do the [beans](product) turn up at mine\n" in shipping


def test_an_example_of_another_intent_refuses_the_decision_and_writes_nothing(inbox, data):
    group = next(g for g in inbox.groups(SINCE) if g.messages[0].text == "do you post to Jersey")
    data.add("shipping_options", ["do you post to Jersey"])
    snapshot = {p.name: p.read_bytes() for p in data.files()}
    with pytest.raises(ExampleRefused, match="already an example of shipping_options"):
        inbox.label(group, "delivery_time", data, by="tess")
    assert {p.name: p.read_bytes() for p in data.files()} == snapshot
    assert "do you post to Jersey" in reasons(inbox)
    # Under its own intent it is not written twice, and the message leaves the inbox.
    assert inbox.label(group, "shipping_options", data, by="tess") == ([], ["do you post to Jersey"])
    assert {p.name: p.read_bytes() for p in data.files()} == snapshot


def test_dismissed_as_noise_leaves_the_inbox_and_writes_nothing(inbox, data):
    snapshot = {p.name: p.read_bytes() for p in data.files()}
    group = next(g for g in inbox.groups(SINCE) if "receipt" in g.messages[0].text)
    assert inbox.dismiss(group, by="tess") == 1
    assert "got a receipt for the grinder?" not in reasons(inbox)
    assert {p.name: p.read_bytes() for p in data.files()} == snapshot


def test_only_some_messages_of_a_group(inbox, data):
    group = inbox.groups(SINCE)[0]
    first, second = group.messages
    with pytest.raises(InboxError, match="not in this group: 1"):
        inbox.label(group, "delivery_time", data, by="tess", only=[1])
    inbox.label(group, "delivery_time", data, by="tess", only=[second.event_id])
    assert list(reasons(inbox)).count(first.text) == 1 and second.text not in reasons(inbox)


def test_personal_data_never_reaches_the_training_data(inbox):
    private = next(m for m in inbox.missed(SINCE) if "KC-10003" in m.text)
    assert training_example(private) == "orders [KC-10003](order_id) mail me at [name@example.com](email)"


def test_the_inbox_from_the_command_line(engine, data, tmp_path):
    add_conversations(engine, CONVERSATIONS)
    url = str(engine.url)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bot", "inbox", *args, "--data", str(data.folder),
                               "--domain", str(ROOT / "domain.yml")], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "DATABASE_URL": url}, timeout=120)

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    assert "6 missed messages in 5 groups" in listed.stdout
    assert "the model suggests delivery_time 0.40, order_status 0.30, shipping_options 0.10" in listed.stdout
    first_id = next(line.split()[0] for line in listed.stdout.splitlines() if "how quick do" in line)
    labelled = run("label", first_id, "delivery_time")
    assert labelled.returncode == 0, labelled.stderr
    assert "+ delivery_time: how quickly will the beans turn up at my house" in labelled.stdout
    assert "how quickly will the beans" in (data.folder / "shipping.yml").read_text()
    refused = run("label", first_id, "delivery_time")
    assert refused.returncode == 2 and "not in the inbox" in refused.stderr
    unknown = run("dismiss", "999999")
    assert unknown.returncode == 2 and "not in the inbox" in unknown.stderr
    assert "4 missed messages in 4 groups" in run("list").stdout  # the pair is decided


def test_no_conversations_yet_is_an_empty_inbox(engine):
    assert Inbox(engine, lambda texts: np.zeros((len(texts), 384))).groups(SINCE) == []


def test_a_refusal_is_named_as_such_even_when_the_score_was_low(engine):
    """What the customer got comes first: "refused as out of scope", and "low confidence" beside it when
    the model was unsure (a question in Spanish read as out of scope at 0.48 was listed as low confidence
    only)."""
    add_conversations(engine, {
        "c-refused": [said(110, "book me a flight to Lisbon", "out_of_scope", 1.0, [("out_of_scope", 1.0)]),
                      action(111, "action_out_of_scope"),
                      said(120, "cuanto cuesta el envio", "out_of_scope", 0.48, [("out_of_scope", 0.48)]),
                      action(121, "action_out_of_scope")]})
    assert reasons(Inbox(engine, embed)) == {
        "book me a flight to Lisbon": ["refused as out of scope"],
        "cuanto cuesta el envio": ["refused as out of scope", "low confidence"],
    }
