"""Thumbs on the bot's answers: stored with the answer and its intent; made-up answers refused."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from tests.bot.fakes import RecordingAgent

SESSION = uuid.uuid4().hex
ANSWER = "We deliver in 2 working days for £3.95."


@pytest.fixture
def app(make_app, tmp_path):
    agent = RecordingAgent(memory=True)
    tracker = DialogueStateTracker(SESSION, [])
    tracker.update(
        UserUttered("how much is delivery?", intent={"name": "shipping_options", "confidence": 0.9})
    )
    tracker.update(BotUttered(ANSWER))
    asyncio.run(agent.tracker_store.save(tracker))
    app = make_app(agent)
    app.test_client.get("/health")
    return app, create_database_engine(f"sqlite:///{tmp_path}/app.db")


def thumbs(app, engine):
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(t.feedback)).mappings()]


def test_a_thumb_down_is_stored_with_the_answer_and_its_intent_and_can_be_changed(app):
    app, engine = app
    _, reply = app.test_client.post(
        "/feedback/thumbs", json={"session_id": SESSION, "text": ANSWER, "value": "down"}
    )
    assert reply.status == 201 and reply.json == {"stored": "down"}
    [row] = thumbs(app, engine)
    assert (row["kind"], row["score"], row["intent"], row["message_text"], row["with_person"]) == (
        "thumb",
        -1,
        "shipping_options",
        ANSWER,
        False,
    )
    app.test_client.post("/feedback/thumbs", json={"session_id": SESSION, "text": ANSWER, "value": "up"})
    assert [r["score"] for r in thumbs(app, engine)] == [1]  # changed, not added


@pytest.mark.parametrize(
    "body,status,error",
    [
        ({"session_id": SESSION, "text": "We never said this.", "value": "up"}, 404, "no_such_answer"),
        ({"session_id": uuid.uuid4().hex, "text": ANSWER, "value": "up"}, 404, "no_such_answer"),
        ({"session_id": "conv-1", "text": ANSWER, "value": "up"}, 400, "invalid_session"),
        ({"session_id": SESSION, "text": ANSWER, "value": "meh"}, 400, "invalid_value"),
        ({"session_id": SESSION, "text": "", "value": "up"}, 400, "invalid_text"),
        (["not", "an", "object"], 400, "invalid_json"),
    ],
)
def test_bad_thumbs_are_refused_and_store_nothing(app, body, status, error):
    app, engine = app
    _, reply = app.test_client.post("/feedback/thumbs", json=body)
    assert (reply.status, reply.json["error"]) == (status, error)
    assert thumbs(app, engine) == []


def test_broken_json_is_a_400(app):
    app, engine = app
    _, reply = app.test_client.post(
        "/feedback/thumbs", data="{not json", headers={"content-type": "application/json"}
    )
    assert reply.status == 400 and thumbs(app, engine) == []
