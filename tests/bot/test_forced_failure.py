"""An exception inside an action, forced on the real servers: the customer gets an apology and a way to a
person, an open form is left so the chat goes on, the action server logs it with the conversation id, and
the owner sees it in /health and on the console's Problems page (issue 12)."""

from __future__ import annotations

import re

import pytest
import requests

from actions.services.owners import OwnerAccounts
from tests.bot.servers import running_servers

pytestmark = pytest.mark.e2e
SENDER = "forced-failure-1"


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    with running_servers(tmp_path_factory.mktemp("broken"), actions_package="tests.bot.broken_actions") \
            as running:
        yield running


def say(servers, text: str) -> list:
    reply = requests.post(f"{servers.base_url}/webhooks/rest/webhook",
                          json={"sender": SENDER, "message": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json(), f"no answer to {text!r}"
    return reply.json()


def test_an_exception_in_an_action_is_an_apology_and_the_chat_goes_on(broken):
    [apology] = say(broken, "what can you do?")  # action_help raises
    assert apology["text"].startswith("Sorry, something went wrong on my side and I couldn't finish that.")
    assert "Talk to a person" in [b["title"] for b in apology["buttons"]]
    assert "open" in " ".join(m["text"] for m in say(broken, "what are your opening hours?")).lower()

    thanks = say(broken, "great, thanks!")
    assert thanks[-1]["text"].startswith("How did I do today?")
    [apology] = say(broken, "4")  # validate_feedback_form raises inside the form
    assert apology["text"].startswith("Sorry, something went wrong on my side")
    where = " ".join(m["text"] for m in say(broken, "where is the shop?"))
    assert "Quay Street" in where and "How did I do" not in where  # the form was left, not asked again

    log = broken.log("actions")
    assert f"Action action_help failed in conversation {SENDER}" in log
    assert f"Action validate_feedback_form failed in conversation {SENDER}" in log
    errors = requests.get(f"{broken.base_url}/health", timeout=10).json()["errors"]
    assert errors["last_24h"] == 2 and errors["latest"]["action"] == "validate_feedback_form"


def test_the_owner_sees_the_problem_with_its_conversation(broken):
    OwnerAccounts(broken.engine).add("owner-broken@example.com", "Mara", "correct horse battery")
    owner = requests.Session()
    form = owner.get(f"{broken.base_url}/console/login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    owner.post(f"{broken.base_url}/console/login", timeout=10,
               data={"csrf": csrf, "email": "owner-broken@example.com", "password": "correct horse battery"})
    page = owner.get(f"{broken.base_url}/console/problems", timeout=10)
    assert page.status_code == 200 and "An action failed" in page.text and "action_help" in page.text
    link = re.search(r'href="(/console/problems/\d+)"', page.text).group(1)
    detail = owner.get(f"{broken.base_url}{link}", timeout=10)
    assert "what are your opening hours?" in detail.text or "what can you do?" in detail.text
    anonymous = requests.get(f"{broken.base_url}/console/problems", timeout=10, allow_redirects=False)
    assert anonymous.status_code == 303
    assert owner.get(f"{broken.base_url}/console/problems/999999", timeout=10).status_code == 404
