"""The action server: an exception inside an action becomes an apology and a way on, the open form is left,
and the error is logged with the conversation id and stored for the owner; Rasa's own protocol
(rejections, unknown actions) and bad requests are answered as before."""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Sanic
from sqlalchemy.exc import OperationalError

from actions.server import ApologisingExecutor, create_action_app
from actions.services.bot_errors import BotErrorLog

SECRET = "the web server's secret"
SIGNED = {"X-Action-Secret": SECRET}


# Plain functions, not Action subclasses: rasa-sdk registers every Action subclass it can find, and other
# tests check that the real package registers exactly the domain's actions.
async def explodes(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List:
    raise KeyError("the database said no")


async def rejects(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List:
    raise ActionExecutionRejection("action_rejects", "no slot filled")


def call(action: str, loop: str | None = "feedback_form", requested: str | None = "csat_score") -> Dict:
    return {"next_action": action, "version": "3.6.2", "domain": {},
            "tracker": {"sender_id": "conv-42", "slots": {"requested_slot": requested, "csat_score": "four"},
                        "latest_message": {"text": "four stars", "intent": {"name": "inform"}},
                        "events": [], "active_loop": {"name": loop} if loop else {}, "paused": False,
                        "followup_action": None, "latest_action_name": "action_listen"}}


@pytest.fixture
def executor(engine):
    executor = ApologisingExecutor(lambda: BotErrorLog(engine))
    executor.register_function("action_explodes", explodes)
    executor.register_function("action_rejects", rejects)
    return executor


def test_an_exception_becomes_an_apology_that_leaves_the_form(executor, engine, caplog):
    with caplog.at_level(logging.ERROR):
        result = asyncio.run(executor.run(call("action_explodes")))
    [reply] = result["responses"]
    assert reply["text"].startswith("Sorry, something went wrong on my side")
    assert "hello@kettleandcrumb.example" in reply["text"]  # the shop's contact, from shop.yml
    assert [b["payload"] for b in reply["buttons"]] == ["/human_handoff", "/help"]
    assert result["events"] == [
        {"event": "active_loop", "name": None},
        {"event": "slot", "name": "csat_score", "value": None},  # the answer that broke it is not kept
        {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "followup", "name": "action_listen"},  # wait for the customer, predict nothing more
    ]
    [error] = BotErrorLog(engine).recent()
    assert (error.conversation_id, error.kind) == ("conv-42", "action_failed")
    assert error.action == "action_explodes"
    assert "KeyError" in error.detail and "the database said no" in error.detail
    assert "Action action_explodes failed in conversation conv-42" in caplog.text


def test_outside_a_form_only_the_wait_is_added(executor):
    result = asyncio.run(executor.run(call("action_explodes", loop=None, requested=None)))
    assert result["events"] == [{"event": "slot", "name": "requested_slot", "value": None},
                                {"event": "followup", "name": "action_listen"}]


def test_the_apology_does_not_need_the_database(caplog):
    def broken_log():
        raise RuntimeError("no database")

    executor = ApologisingExecutor(broken_log)
    executor.register_function("action_explodes", explodes)
    result = asyncio.run(executor.run(call("action_explodes")))
    assert result["responses"][0]["text"].startswith("Sorry, something went wrong")


def test_a_form_rejection_is_still_rasas_protocol(executor, engine):
    with pytest.raises(ActionExecutionRejection):
        asyncio.run(executor.run(call("action_rejects")))
    assert BotErrorLog(engine).recent() == []


@pytest.fixture
def client(executor):
    Sanic.test_mode = True
    return create_action_app(SECRET.encode(), "actions.faq", executor).test_client


def test_the_webhook_answers_an_exception_with_the_apology_not_a_500(client):
    _, reply = client.post("/webhook", content=json.dumps(call("action_explodes")), headers=SIGNED)
    assert reply.status == 200 and reply.json["responses"][0]["text"].startswith("Sorry")


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400), (b"[]", 400), (b'{"tracker": {}}', 400),
    (json.dumps(call("action_nobody_wrote")).encode(), 404),
    (json.dumps(call("action_rejects")).encode(), 400),
])
def test_bad_requests_get_a_clear_4xx(client, body, status):
    _, reply = client.post("/webhook", content=body, headers=SIGNED)
    assert reply.status == status and "error" in reply.json


def test_a_real_action_answers_and_health_and_actions_list(client):
    asked = {"text": "when are you open", "intent": {"name": "opening_hours"}}
    body = {**call("action_answer_faq", loop=None),
            "tracker": {**call("x", loop=None)["tracker"], "latest_message": asked}}
    _, reply = client.post("/webhook", content=json.dumps(body), headers=SIGNED)
    assert reply.status == 200 and "open" in reply.json["responses"][0]["text"].lower()
    assert client.get("/health")[1].json == {"status": "ok"}
    assert {"name": "action_answer_faq"} in client.get("/actions", headers=SIGNED)[1].json


@pytest.mark.parametrize("headers", [{}, {"X-Action-Secret": "guess"}, {"X-Action-Secret": SECRET[:-1]},
                                     {"X-Action-Secret": SECRET.upper()}, {"X-Action-Secret": ""}])
def test_only_the_web_server_may_call_actions_or_list_them(client, headers, caplog):
    """Issue 13: anyone who reached port 5055 could cancel orders and list every action."""
    asked = {"text": "when are you open", "intent": {"name": "opening_hours"}}
    body = {**call("action_answer_faq", loop=None),
            "tracker": {**call("x", loop=None)["tracker"], "latest_message": asked}}
    with caplog.at_level(logging.WARNING):
        _, reply = client.post("/webhook", content=json.dumps(body), headers=headers)
        _, listed = client.get("/actions", headers=headers)
    assert (reply.status, listed.status) == (401, 401) and "responses" not in reply.json
    assert "Only the shop's web server may call this" in reply.json["error"]
    assert "Refused POST /webhook from" in caplog.text and SECRET not in caplog.text
    assert client.get("/health")[1].status == 200  # the web server's health check needs no secret


def test_an_action_server_without_a_secret_does_not_start():
    with pytest.raises(ValueError, match="needs a secret"):
        create_action_app(b"", "actions.faq")


async def finds_the_database_locked(dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: Dict[str, Any]) -> List:
    raise OperationalError("INSERT INTO cases ...", {}, sqlite3.OperationalError("database is locked"))


def test_a_locked_database_is_an_apology_that_asks_to_try_again_at_once():
    """Writing the failure down would wait for the same lock: the apology does not try, and confirms
    nothing, so the customer tries again rather than believing it went through."""
    def no_log():
        raise AssertionError("the error log must not be used while the database is locked")

    executor = ApologisingExecutor(no_log)
    executor.register_function("action_locked", finds_the_database_locked)
    result = asyncio.run(executor.run(call("action_locked")))
    [reply] = result["responses"]
    assert reply["text"].startswith("Sorry, I couldn't finish that just now: our system is busy.")
    assert "try again" in reply["text"]
    assert result["events"][0] == {"event": "active_loop", "name": None}  # as any failure: the form is left
