"""While a person owns a conversation the bot stays silent in it, whatever the client sends."""

from __future__ import annotations

import asyncio
import json

from rasa.shared.core.events import UserUttered

from actions.services.database import create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.fakes import RecordingAgent

URL = "/webhooks/rest/webhook"


def post(app, sender: str, text: str):
    _, reply = app.test_client.post(URL, content=json.dumps({"sender": sender, "message": text}))
    return reply


def test_bot_is_silent_while_a_person_owns_the_conversation(make_app, tmp_path):
    agent = RecordingAgent(memory=True)
    app = make_app(agent)
    assert post(app, "cust-1", "hello").json == [{"recipient_id": "cust-1", "text": "echo: hello"}]

    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")  # the app's database
    queue = HandoffQueue(engine)
    owner = OwnerAccounts(engine).add("mara@example.com", "Mara", "correct horse battery")
    handoff = queue.request("cust-1", "human_handoff", {})
    assert queue.claim(handoff.id, owner.id)

    reply = post(app, "cust-1", "are you still there?")
    assert reply.status == 202 and reply.json["status"] == "with_person"
    assert [m.text for m in agent.received] == ["hello"]  # the bot never saw the second message
    other = post(app, "cust-2", "hi")  # other conversations are not affected
    assert other.status == 200 and [m.text for m in agent.received] == ["hello", "hi"]

    assert queue.hand_back(handoff.id, owner.id)
    assert post(app, "cust-1", "thanks!").status == 200
    assert [m.text for m in agent.received] == ["hello", "hi", "thanks!"]


def test_the_silenced_message_is_still_in_the_conversation(make_app, tmp_path):
    agent = RecordingAgent(memory=True)
    app = make_app(agent)
    post(app, "cust-9", "hi")  # creates the app's database
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    queue = HandoffQueue(engine)
    owner = OwnerAccounts(engine).add("mara@example.com", "Mara", "correct horse battery")
    queue.claim(queue.request("cust-9", "complaint", {}).id, owner.id)
    post(app, "cust-9", "my parcel is soaked <script>alert(1)</script>")
    tracker = asyncio.run(agent.tracker_store.retrieve("cust-9"))
    said = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert said == ["my parcel is soaked <script>alert(1)</script>"]
