"""The web server's net under the net: a turn the bot answered with nothing gets an apology and a way on
(stored in the conversation, an open form left, the turn logged with the conversation id and shown to the
owner); with the action server down the channel's 503 stays; a person's chat stays silent."""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ActiveLoop, BotUttered

from actions.services.bot_errors import BotErrorLog
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.action_calls import ActionEndpoint, ActionFailure, ActionFailures
from bot.never_silent import ACTION_SERVER_DOWN, SilenceGuard
from tests.bot.fakes import RecordingAgent

URL = "/webhooks/rest/webhook"


@pytest.fixture
def errors(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/errors.db")
    migrate(engine)
    yield BotErrorLog(engine)
    engine.dispose()


def guard(shop, errors, failures: ActionFailures | None = None) -> SilenceGuard:
    return SilenceGuard(shop, errors, failures or ActionFailures())


async def _in_a_form(agent: RecordingAgent, sender: str) -> None:
    tracker = await agent.tracker_store.get_or_create_tracker(sender)
    tracker.update(ActiveLoop("feedback_form"))
    await agent.tracker_store.save(tracker)


async def _handle(agent: RecordingAgent, message: UserMessage):
    await agent.handle_message(message)
    return None


def test_a_silent_turn_gets_the_apology_and_leaves_the_form(shop, errors, caplog):
    agent = RecordingAgent(silent=True, memory=True)
    asyncio.run(_in_a_form(agent, "conv-7"))
    output = CollectingOutputChannel()
    with caplog.at_level(logging.ERROR):
        outcome = asyncio.run(guard(shop, errors).answer_or_apologise(
            _handle, agent, UserMessage("four stars", output, "conv-7")))
    assert outcome is None
    [reply] = output.messages
    assert reply["text"].startswith("Sorry, something went wrong on my side")
    assert [b["payload"] for b in reply["buttons"]] == ["/human_handoff", "/help"]
    tracker = asyncio.run(agent.tracker_store.retrieve("conv-7"))
    assert tracker.active_loop_name is None
    assert [e.text for e in tracker.events if isinstance(e, BotUttered)] == [reply["text"]]
    [error] = errors.recent()
    assert (error.conversation_id, error.kind, error.action) == ("conv-7", "no_answer", "feedback_form")
    assert "no answer in conversation conv-7" in caplog.text


def test_an_answered_turn_is_left_alone(shop, errors):
    agent = RecordingAgent(memory=True)
    output = CollectingOutputChannel()
    asyncio.run(guard(shop, errors).answer_or_apologise(_handle, agent, UserMessage("hi", output, "conv-8")))
    assert [m["text"] for m in output.messages] == ["echo: hi"] and errors.recent() == []


def test_with_the_action_server_down_the_channel_says_so_instead(shop, errors):
    failures = ActionFailures()

    async def refused(agent, message):  # an action call found nothing listening
        failures.note(message.sender_id, ActionFailure("action_help", "ClientConnectorError", True))
        return None

    output = CollectingOutputChannel()
    outcome = asyncio.run(guard(shop, errors, failures).answer_or_apologise(
        refused, RecordingAgent(silent=True, memory=True), UserMessage("hi", output, "conv-9")))
    assert outcome == ACTION_SERVER_DOWN and output.messages == [] and errors.recent() == []


def test_an_action_call_that_fails_on_the_way_is_an_apology_naming_the_action(shop, errors, caplog):
    """Issue 13: under load the action server closed the connection before the call was written; Rasa dropped
    the action's events, the bot said nothing and the reply was 200 []. The call's failure is logged with the
    action and the conversation and the customer gets the apology."""
    failures = ActionFailures()

    class Disconnecting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.close_connection = True  # read nothing, answer nothing: the connection just closes

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Disconnecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = ActionEndpoint(f"http://127.0.0.1:{server.server_port}/webhook", {}, failures)

    async def call_the_action(agent, message):  # as Rasa's RemoteAction does, swallowing the error
        try:
            await endpoint.request(json={"next_action": "action_help", "sender_id": message.sender_id},
                                   method="post")
        except Exception:  # noqa: BLE001 - Rasa logs it and goes on without the action's events
            pass
        return None

    output = CollectingOutputChannel()
    try:
        with caplog.at_level(logging.ERROR):
            outcome = asyncio.run(guard(shop, errors, failures).answer_or_apologise(
                call_the_action, RecordingAgent(silent=True, memory=True),
                UserMessage("help", output, "conv-12")))
    finally:
        server.shutdown()
        server.server_close()
    assert outcome is None
    [reply] = output.messages
    assert reply["text"].startswith("Sorry, something went wrong on my side")
    [error] = errors.recent()
    assert (error.conversation_id, error.kind, error.action) == ("conv-12", "action_failed", "action_help")
    assert "Action action_help failed in conversation conv-12" in caplog.text


def test_a_chat_a_person_owns_stays_silent(shop, errors):
    async def with_person(agent, message):
        return "with_person"

    output = CollectingOutputChannel()
    outcome = asyncio.run(guard(shop, errors).answer_or_apologise(
        with_person, RecordingAgent(memory=True), UserMessage("hello?", output, "conv-10")))
    assert outcome == "with_person" and output.messages == [] and errors.recent() == []


@pytest.fixture
def healthy_action_server():
    """Answers /health with 200, like an action server that is up."""
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/webhook"
    server.shutdown()
    server.server_close()


def test_rest_never_answers_200_with_nothing(make_app, healthy_action_server):
    app = make_app(RecordingAgent(silent=True, memory=True), action_server_url=healthy_action_server)
    _, reply = app.test_client.post(URL, content=json.dumps({"sender": "conv-11", "message": "four stars"}))
    assert reply.status == 200 and reply.json[0]["text"].startswith("Sorry, something went wrong")
    _, health = app.test_client.get("/health")
    assert health.json["errors"]["last_24h"] == 1
    assert health.json["errors"]["latest"]["kind"] == "no_answer"
    assert "conv-11" not in health.text  # a session id opens a conversation: only the console shows it
