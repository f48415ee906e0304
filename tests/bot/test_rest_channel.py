"""The REST channel refuses bad input with a clear 4xx before the agent sees it.

The agent here is a stand-in that records what reaches it, so "changes nothing" is checked
directly; tests/bot/test_e2e.py repeats the important cases against the real trained model.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from sanic import Sanic

from tests.bot.fakes import RecordingAgent

URL = "/webhooks/rest/webhook"


def post(app: Sanic, body: Any, raw: bool = False):
    data = body if raw else json.dumps(body)
    _, response = app.test_client.post(URL, content=data)
    return response


def test_a_good_message_is_answered(make_app):
    agent = RecordingAgent()
    response = post(make_app(agent), {"sender": "c1", "message": "hello", "metadata": {"page": "/"}})
    assert response.status == 200
    assert response.json == [{"recipient_id": "c1", "text": "echo: hello"}]
    assert agent.received[0].metadata == {"page": "/"}


@pytest.mark.parametrize("message_id, status", [("msg-0001_ab", 200), ("short", 400), ("x" * 65, 400),
                                                 ("bad id!!", 400), (42, 400), ("m-1\n" + "a" * 8, 400)])
def test_a_client_may_name_its_message_so_the_same_message_again_is_known(make_app, message_id, status):
    agent = RecordingAgent()
    response = post(make_app(agent), {"sender": "c1", "message": "yes", "message_id": message_id})
    assert response.status == status
    if status == 200:
        assert agent.received[0].message_id == message_id
    else:
        assert response.json["error"] == "invalid_message_id" and agent.received == []


def key_sent(app: Sanic, agent: RecordingAgent, headers: dict, metadata: Any = None) -> Any:
    body = {"sender": "c1", "message": "hi", **({"metadata": metadata} if metadata is not None else {})}
    _, response = app.test_client.post(URL, content=json.dumps(body), headers=headers)
    assert response.status == 200
    return (agent.received[-1].metadata or {}).get("client_key")


def test_the_server_sets_the_client_key_and_a_client_cannot_choose_it(make_app):
    """Issue 13: the order flow limits failed order checks per client by this key (a hash, not the address);
    a key the client sends is replaced, and X-Forwarded-For counts only from a trusted proxy."""
    behind = RecordingAgent()
    proxied = make_app(behind, trusted_proxies=("127.0.0.1/32",))
    first = key_sent(proxied, behind, {"X-Forwarded-For": "203.0.113.9"})
    assert len(first) == 16 and int(first, 16) >= 0 and "203.0.113" not in str(behind.received[-1].metadata)
    assert key_sent(proxied, behind, {"X-Forwarded-For": "203.0.113.9"}, {"client_key": "0123456789abcdef"}) \
        == first
    assert key_sent(proxied, behind, {"X-Forwarded-For": "203.0.113.10"}) not in (first, None)

    # From an untrusted peer the header is ignored: here the peer is loopback (a local proxy nobody listed
    # in TRUSTED_PROXIES, whose key every customer would share), so no key, and not the client's either.
    agent = RecordingAgent()
    direct = make_app(agent)
    assert key_sent(direct, agent, {"X-Forwarded-For": "203.0.113.9"}) is None
    assert key_sent(direct, agent, {}, {"client_key": "0123456789abcdef", "page": "/"}) is None
    assert agent.received[-1].metadata == {"page": "/"}


@pytest.mark.parametrize("body,raw,status,error", [
    ("{not json", True, 400, "invalid_json"),
    ("", True, 400, "invalid_json"),
    ('["a", "list"]', True, 400, "invalid_json"),
    ({"message": "hi"}, False, 400, "missing_sender"),
    ({"sender": "", "message": "hi"}, False, 400, "invalid_sender"),
    ({"sender": "a b/../c", "message": "hi"}, False, 400, "invalid_sender"),
    ({"sender": "x" * 200, "message": "hi"}, False, 400, "invalid_sender"),
    ({"sender": "c1"}, False, 400, "missing_message"),
    ({"sender": "c1", "message": 42}, False, 400, "invalid_message"),
    ({"sender": "c1", "message": ""}, False, 400, "empty_message"),
    ({"sender": "c1", "message": " \n\t "}, False, 400, "empty_message"),
    ({"sender": "c1", "message": "x" * 2001}, False, 413, "message_too_long"),
    ({"sender": "c1", "message": "hi", "metadata": "page=/"}, False, 400, "invalid_metadata"),
])
def test_bad_input_is_refused_and_never_reaches_the_agent(make_app, body, raw, status, error):
    agent = RecordingAgent()
    response = post(make_app(agent), body, raw)
    assert response.status == status
    assert response.json["error"] == error
    assert response.json["detail"]
    assert agent.received == []


def test_exactly_the_limit_is_accepted(make_app):
    agent = RecordingAgent()
    assert post(make_app(agent), {"sender": "c1", "message": "x" * 2000}).status == 200


def test_oversized_body_is_refused(make_app):
    agent = RecordingAgent()
    response = post(make_app(agent), {"sender": "c1", "message": "hi", "pad": "x" * 100_000})
    assert response.status == 413
    assert agent.received == []


def test_processing_failure_is_a_500_not_an_empty_200(make_app):
    response = post(make_app(RecordingAgent(fail=True)), {"sender": "c1", "message": "hello"})
    assert response.status == 500
    assert response.json["error"] == "processing_failed"


class ActionCallingAgent(RecordingAgent):
    """Calls an action through the app's action endpoint and, as Rasa does when that fails, says nothing."""

    endpoint: Any = None

    async def handle_message(self, message: Any) -> Any:
        self.received.append(message)
        try:
            await self.endpoint.request(json={"next_action": "action_help", "sender_id": message.sender_id})
        except Exception:  # noqa: BLE001 - Rasa logs it and goes on without the action's events
            pass


def test_an_action_call_to_a_stopped_action_server_is_a_503(make_app):
    from bot.action_calls import ActionEndpoint

    agent = ActionCallingAgent(memory=True)
    app = make_app(agent, action_server_url="http://127.0.0.1:9/webhook")
    agent.endpoint = ActionEndpoint(app.ctx.settings.action_server_url, {}, app.ctx.action_failures)
    response = post(app, {"sender": "c1", "message": "hello"})
    assert response.status == 503
    assert response.json["error"] == "action_server_unavailable"


def test_unknown_route_is_a_json_404(make_app):
    _, response = make_app(RecordingAgent()).test_client.get("/webhooks/nope")
    assert response.status == 404
    assert response.json["message"]


@pytest.mark.parametrize("body,error", [
    ("[" * 5000 + "]" * 5000, "invalid_json"),  # 10 KB that json.loads cannot recurse into
    ('{"sender": "c1", "message": "hi \\ud800"}', "invalid_message"),  # a lone surrogate, escaped
    (b'{"sender": "c1", "message": "hi \xed\xa0\x80"}', "invalid_message"),  # the same, as raw bytes
    ('{"sender": "c1", "message": "hi", "metadata": {"page": "\\udfff"}}', "invalid_metadata"),
    ('{"sender": "c1\\n", "message": "hi"}', "invalid_sender"),  # "$" let a trailing newline through
    ('{"sender": "c1", "message": "hi", "metadata": ' + '{"a": ' * 900 + "1" + "}" * 901, "invalid_metadata"),
], ids=["nested", "surrogate-escape", "surrogate-bytes", "surrogate-metadata", "sender-newline",
        "deep-metadata"])
def test_bodies_that_used_to_fail_inside_get_a_400(make_app, body, error):
    agent = RecordingAgent()
    response = post(make_app(agent), body, raw=True)
    assert response.status == 400
    assert response.json["error"] == error and response.json["detail"]
    assert agent.received == []


@pytest.mark.parametrize("method,path,status", [
    ("get", "/webhooks/nope", 404), ("get", URL, 405), ("post", "/health", 405)])
@pytest.mark.parametrize("accept", ["a", "*/*;q=x", "text/html;q=0.9, a"])
def test_an_accept_header_sanic_cannot_parse_still_gets_a_404_or_405(make_app, method, path, status, accept):
    _, response = getattr(make_app(RecordingAgent()).test_client, method)(path, headers={"Accept": accept})
    assert response.status == status
    assert response.json["message"]
