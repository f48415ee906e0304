"""Rasa's check of action server responses, with its JSON schema checked once (bot/action_calls.py)."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

from bot.action_calls import (
    RASAS_OWN_CHECK,
    _validate_action_result,
    check_action_responses_with_a_compiled_schema,
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
