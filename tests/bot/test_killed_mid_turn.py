"""The web process killed while confirming (issue 13): the order was cancelled and audited, but the turn
never reached the chat's history and the customer saw no answer. The customer's message comes again (the
widget keeps it until it is answered, with its message id; a REST client may send one too), and the same
message finds its write done: the customer hears what was done, and nothing is done twice."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import select

from actions.services import order_tables as t
from tests.bot.servers import running_servers

pytestmark = pytest.mark.e2e
SENDER = "killed-mid-turn-1"


@pytest.fixture(scope="module")
def stalling(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("killed")
    flag = workdir / "stall"
    with running_servers(workdir, {"STALL_FLAG": str(flag), "ACTION_TIMEOUT_SECONDS": "5"},
                         actions_package="tests.bot.stalling_actions", demo_orders=True) as running:
        running.flag = flag
        yield running


def say(servers, text: str, message_id: str | None = None, timeout: float = 60, sender: str = SENDER) -> str:
    body = {"sender": sender, "message": text, **({"message_id": message_id} if message_id else {})}
    reply = requests.post(f"{servers.base_url}/webhooks/rest/webhook", json=body, timeout=timeout)
    assert reply.status_code == 200, reply.text
    return " ".join(m.get("text", "") for m in reply.json())


def audit(servers, action: str) -> list:
    with servers.engine.connect() as connection:
        return connection.execute(select(t.audit_log.c.id).where(
            t.audit_log.c.conversation_id == SENDER, t.audit_log.c.action == action)).all()


def test_a_confirmation_cut_off_by_a_killed_web_process_is_heard_when_the_message_comes_again(stalling):
    say(stalling, "I want to cancel my order KC-10001")
    assert "Shall I cancel order KC-10001" in say(stalling, "alex.morgan@example.com")

    stalling.flag.touch()
    cut_off = threading.Thread(target=lambda: pytest.raises(requests.RequestException, say, stalling, "yes",
                                                            "yes-to-cancel-1", 120), daemon=True)
    cut_off.start()
    deadline = time.monotonic() + 60
    while not audit(stalling, "cancel_order") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert audit(stalling, "cancel_order"), "the cancellation was never written"
    stalling.web.kill()  # SIGKILL while the web server waits for the action's answer
    stalling.web.wait(timeout=30)
    cut_off.join(timeout=30)
    stalling.start_web()

    again = say(stalling, "yes", "yes-to-cancel-1")  # the widget sends the unanswered message again
    assert "Done: order KC-10001 is cancelled." in again and "already" not in again
    assert len(audit(stalling, "cancel_order")) == 1 and len(audit(stalling, "open_case")) == 1
    with stalling.engine.connect() as connection:
        assert connection.execute(select(t.orders.c.status).where(t.orders.c.number == "KC-10001")).scalar() \
            == "cancelled"
    assert "open" in say(stalling, "what are your opening hours?").lower()  # and the chat goes on


def test_a_slow_action_server_is_an_apology_that_does_not_deny_what_may_be_done(stalling):
    """The action server slow to answer (here: it stalls after the write): Rasa would wait 5 minutes; the
    customer hears within ACTION_TIMEOUT_SECONDS that it may still go through, and can ask where it stands."""
    sender = "slow-actions-1"
    say(stalling, "please cancel order KC-10002", sender=sender)
    assert "Shall I cancel order KC-10002" in say(stalling, "sam.patel@example.com", sender=sender)
    stalling.flag.touch()
    started = time.monotonic()
    answer = say(stalling, "yes", sender=sender)
    assert "taking longer than it should, so I can't confirm it yet" in answer
    assert time.monotonic() - started < 60  # not Rasa's five minutes (ACTION_TIMEOUT_SECONDS is 5 here)
    status = say(stalling, "where is my order KC-10002?", sender=sender)
    assert "KC-10002" in status and "cancelled" in status  # it did go through, and the customer can see it
    assert "Action action_finish_order_task failed in conversation slow-actions-1" in stalling.log("web")
