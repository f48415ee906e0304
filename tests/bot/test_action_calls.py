"""Rasa's check of action server responses, with its JSON schema checked once, and what an action call
carries (bot/action_calls.py)."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.action_calls import (
    RASAS_OWN_CALL_FORMAT,
    RASAS_OWN_CHECK,
    RECENT_TURNS,
    ActionEndpoint,
    ActionFailures,
    ResponseCheck,
    _action_call_format,
    _validate_action_result,
    check_action_responses_with_a_compiled_schema,
    recent_events,
)

GOOD = {"events": [{"event": "slot", "name": "order_id", "value": "KC-10003"}],
        "responses": [{"text": "Thank you, I've found order KC-10003."}]}
BAD = [{"events": "not a list"}, {"events": [{"event": "no_such_event"}]}, {"responses": [3]}]


def rasas_own(result):
    return RASAS_OWN_CHECK(RemoteAction("action_x", None), result)


@pytest.mark.parametrize("result", BAD)
def test_a_bad_response_is_refused_with_rasas_own_error(result):
    with pytest.raises(ValidationError) as theirs:
        rasas_own(result)
    with pytest.raises(ValidationError) as ours:
        _validate_action_result(RemoteAction("action_x", None), result)
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server" in ours.value.message


def test_a_good_response_passes_and_the_schema_is_checked_once(monkeypatch):
    kind = validator_for(RemoteAction.action_response_format_spec())
    checks = []
    monkeypatch.setattr(kind, "check_schema", classmethod(lambda cls, schema: checks.append(schema)))
    assert rasas_own(GOOD) and rasas_own(GOOD)
    assert len(checks) == 2  # Rasa's own: the schema again on every response
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RASAS_OWN_CHECK)  # restored afterwards
    check_action_responses_with_a_compiled_schema()
    checks.clear()
    for _ in range(3):
        assert RemoteAction("action_x", None)._validate_action_result(GOOD)
    assert len(checks) <= 1  # at most once, when the validator is first built


def every_kind_of_response():
    """Good and bad responses: each kind of event as our actions send it, and each spoilt in a few ways."""
    events = [{"event": "slot", "name": "order_id", "value": "KC-10003"},
              {"event": "slot", "name": "order_id", "value": None, "timestamp": 1.5, "metadata": {}},
              {"event": "user", "text": "hi",
               "parse_data": {"intent": {"name": "greet", "confidence": 1.0},
                              "entities": [{"entity": "email", "value": "a@b"}]}},
              {"event": "action", "name": "action_listen", "policy": None, "confidence": None},
              {"event": "bot", "text": "Hello", "data": {}}, {"event": "active_loop", "name": None},
              {"event": "followup", "name": "action_x"}, {"event": "reset_slots"}, {"event": "restart"},
              {"event": "session_started"}, {"event": "action_execution_rejected", "name": "x"},
              {"event": "entities", "entities": []}, {"event": "form", "name": None},
              {"event": "reminder", "intent": "x", "date_time": "2026-12-06T10:00:00"}]
    spoilt = [{"event": "slot", "value": 1}, {"event": "slot", "name": 3, "value": 1},
              {"event": "slot", "name": "x", "value": 1, "timestamp": "noon"},
              {"event": "user", "parse_data": "greet"},
              {"event": "user", "parse_data": {"entities": [{"entity": "email"}]}},
              {"event": "action", "hide_rule_turn": "yes"}, {"event": "entities"},
              {"event": "no_such_event"}, {"event": 7}, {"name": "order_id"}, "slot", None, [],
              {"event": "slot", "name": "x", "value": 1, "metadata": "m"}]
    responses = [{"text": "Thank you."}, {"text": "a", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    cases = [GOOD, {}, {"events": []}, {"responses": responses}, {"events": events, "responses": responses},
             {"events": None}, {"responses": None}, [], "ok", None, {"events": "no"}, {"responses": [3]},
             {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": ["text"]}]
    cases += [{"events": [event]} for event in events + spoilt]
    cases += [{"events": [*events, bad]} for bad in spoilt]
    return cases


@pytest.mark.parametrize("result", every_kind_of_response())
def test_each_event_checked_against_its_own_kind_agrees_with_the_whole_schema(result):
    check = ResponseCheck(RemoteAction.action_response_format_spec())
    assert check.is_valid(result) == check.whole.is_valid(result)


def test_every_kind_of_response_has_good_and_bad_ones():
    check = ResponseCheck(RemoteAction.action_response_format_spec())
    verdicts = [check.whole.is_valid(result) for result in every_kind_of_response()]
    assert verdicts.count(True) >= 18 and verdicts.count(False) >= 25


def conversation(turns: int) -> DialogueStateTracker:
    domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker("c", domain.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(SlotSet("order_id", "KC-10003"))
    for turn in range(turns):
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(f"question {turn}", {"name": "opening_hours", "confidence": 0.9}))
        tracker.update(ActionExecuted("action_answer_faq"))
        tracker.update(BotUttered(f"answer {turn}"))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("one more", {"name": "human_handoff", "confidence": 0.9}))
    return tracker


def test_a_short_conversation_is_sent_as_rasa_sends_it():
    domain, tracker = Domain.load("domain.yml"), conversation(5)
    action = RemoteAction("action_answer_faq", None)
    assert _action_call_format(action, tracker, domain) == RASAS_OWN_CALL_FORMAT(action, tracker, domain)


@pytest.mark.parametrize("action_name", ["action_answer_faq", "validate_order_form", "action_ask_order_id"])
def test_only_the_actions_that_need_the_domain_get_it_as_rasa_sends_it(action_name):
    domain, tracker = Domain.load("domain.yml"), conversation(3)
    action = RemoteAction(action_name, ActionEndpoint("http://127.0.0.1:1/webhook", {}, ActionFailures()))
    ours, rasas = _action_call_format(action, tracker, domain), RASAS_OWN_CALL_FORMAT(action, tracker, domain)
    assert ours == rasas
    assert ("domain" in ours) == action_name.startswith("validate_")
    marked = [name for name in domain.user_actions if domain.does_custom_action_explicitly_need_domain(name)]
    assert sorted(marked) == sorted(name for name in domain.user_actions if name.startswith("validate_"))


def test_a_long_conversation_sends_its_recent_turns_and_all_of_its_state():
    domain, tracker = Domain.load("domain.yml"), conversation(200)
    action = RemoteAction("action_answer_faq", None)
    ours, rasas = (_action_call_format(action, tracker, domain),
                   RASAS_OWN_CALL_FORMAT(action, tracker, domain))
    sent = ours["tracker"].pop("events")
    everything = rasas["tracker"].pop("events")
    assert ours == rasas  # slots (the order number set at the start), latest message, loop, domain
    assert sent == everything[-len(sent):]
    assert sent[0] == {**sent[0], "event": "action", "name": "action_listen"}
    assert [e["text"] for e in sent if e["event"] == "user"] == [
        *(f"question {turn}" for turn in range(200 - RECENT_TURNS + 1, 200)), "one more"]
    assert len(recent_events(tracker, turns=500)) == len(tracker.events)


async def test_calls_to_the_action_server_share_one_kept_connection():
    """Rasa opened a connection per call; ours keeps one open (and its failures are still noted)."""
    from aiohttp import web

    from bot.action_calls import ActionEndpoint, ActionFailures

    peers = []

    async def webhook(request):
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = ActionEndpoint(f"http://127.0.0.1:{port}/webhook", {"X-Action-Secret": "s"}, ActionFailures())
    try:
        for _ in range(3):
            assert await endpoint.request(json={"next_action": "action_x", "sender_id": "c"}) == {
                "events": [], "responses": []}
        assert len(peers) == 3 and len(set(peers)) == 1
    finally:
        await endpoint.close()
        await runner.cleanup()
    assert endpoint._session is not None and endpoint._session.closed
