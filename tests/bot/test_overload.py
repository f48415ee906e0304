"""Turns are never lost silently (issue 13), against the real servers.

A call to the action server that fails on the way (here the action server's process ends mid-call) is an
apology, and the web log names the action and the conversation, Rasa's own error line included; many
customers at once each get an answer or a clear 503 with Retry-After, never 200 with nothing."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.bot.servers import running_servers

pytestmark = pytest.mark.e2e
CUSTOMERS, TURNS = 20, 3
SAYINGS = ["hello", "what are your opening hours?", "where is the shop?"]


def say(base_url: str, sender: str, text: str) -> requests.Response:
    return requests.post(f"{base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                         timeout=120)


@pytest.fixture
def dying(tmp_path):
    with running_servers(tmp_path, actions_package="tests.bot.dying_actions") as running:
        yield running


def test_an_action_call_that_fails_mid_call_is_an_apology_and_logged_with_the_conversation(dying):
    sender = "dying-actions-1"
    reply = say(dying.base_url, sender, "what can you do?")  # action_help ends the action server mid-call
    assert reply.status_code == 200, reply.text
    [apology] = reply.json()
    assert apology["text"].startswith("Sorry, something went wrong on my side")
    assert "Talk to a person" in [b["title"] for b in apology["buttons"]]

    dying.actions.wait(timeout=30)  # gone now: the next action call finds nothing listening
    down = say(dying.base_url, sender, "what can you do?")
    assert down.status_code == 503 and down.json()["error"] == "action_server_unavailable"

    log = dying.log("web")
    assert f"Action action_help failed in conversation {sender}" in log
    assert "Encountered an exception while running action 'action_help'" in log  # Rasa's own line
    assert f"no answer in conversation {sender}: action action_help failed" in log


@pytest.fixture
def running(tmp_path):
    with running_servers(tmp_path) as servers:
        yield servers


def test_many_customers_at_once_get_an_answer_or_a_clear_busy_never_nothing(running):
    def customer(number: int) -> list:
        outcomes = []
        for text in SAYINGS[:TURNS]:
            reply = say(running.base_url, f"crowd-{number}", text)
            if reply.status_code == 200 and reply.json():
                outcomes.append("answered")
            elif reply.status_code == 503 and reply.json().get("error") == "busy" \
                    and reply.headers.get("Retry-After"):
                outcomes.append("busy")
            else:
                outcomes.append(f"{reply.status_code} {reply.text[:200]}")
        return outcomes

    with ThreadPoolExecutor(CUSTOMERS) as pool:
        counts = Counter(o for outcomes in pool.map(customer, range(CUSTOMERS)) for o in outcomes)
    print(f"{CUSTOMERS} customers x {TURNS} turns: {dict(counts)}")
    assert set(counts) <= {"answered", "busy"}, counts  # never 200 [], a 500, or a 503 without Retry-After
    assert counts["answered"] > 0
    assert "Cannot write to closing transport" not in running.log("web")
