"""A person's words reach the customer against the real servers: written while the customer's tab is closed,
they arrive when the customer comes back (after a restart of the web server too), in order, until the widget
acknowledges them; the console shows whether the customer is connected and whether each reply arrived."""
from __future__ import annotations

import re
import subprocess
from typing import Any, List

import pytest
import requests

from actions.services.chat_delivery import OutboundMessages
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.servers import ROOT, free_port, socket_customer, stop, wait_until_healthy

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
OWNER = "owner-delivery@example.com"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


class Console:
    """The owner in the console, over HTTP."""

    def __init__(self, base_url: str, email: str = OWNER) -> None:
        self.base = base_url
        self.http = requests.Session()
        form = self.http.get(f"{base_url}/console/login", timeout=10)
        signed_in = self.http.post(f"{base_url}/console/login", timeout=10,
                                   data={"csrf": csrf_of(form.text), "email": email, "password": PASSWORD})
        assert signed_in.status_code == 200 and "Inbox" in signed_in.text

    def page(self, handoff_id: int) -> str:
        return self.http.get(f"{self.base}/console/handoffs/{handoff_id}", timeout=10).text

    def act(self, handoff_id: int, action: str, **data: str) -> requests.Response:
        data["csrf"] = csrf_of(self.page(handoff_id))
        return self.http.post(f"{self.base}/console/handoffs/{handoff_id}/{action}", data=data, timeout=30)


def take(inbox, count: int) -> List[Any]:
    return [inbox.get(timeout=15) for _ in range(count)]


def test_replies_written_while_the_tab_was_closed_arrive_in_order_once_acknowledged(servers):
    OwnerAccounts(servers.engine).add(OWNER, "Mara", PASSWORD)
    with socket_customer(servers.base_url) as (_, session_id, _inbox):
        pass  # the customer opened the chat once, then closed the tab
    handoff = HandoffQueue(servers.engine).request(session_id, "human_handoff", {"intent": "human_handoff"})
    owner = Console(servers.base_url)
    assert owner.act(handoff.id, "claim").status_code == 200
    for text in ("Hello, Mara here.", "Your parcel left <b>today</b>."):
        assert owner.act(handoff.id, "reply", text=text).status_code == 200
    page = owner.page(handoff.id)
    assert 'data-presence="closed"' in page and "The customer&#x27;s chat is closed (last open" in page
    assert page.count("waiting: shown when the customer opens the chat again") == 3  # joined + 2 replies

    servers.stop_web()  # nothing of it is only in memory
    servers.start_web()

    expected = ["Mara joined the chat", "Hello, Mara here.", "Your parcel left <b>today</b>."]
    with socket_customer(servers.base_url, session_id) as (_, again, inbox):
        missed = take(inbox, 3)  # sent right after the session is confirmed, oldest first
        assert again == session_id and [m["text"] for m in missed] == expected
    ids = [m["delivery_id"] for m in missed]
    assert ids == sorted(ids) and missed[0]["notice"] == "joined"
    assert missed[1]["sender"] == {"type": "person", "name": "Mara"} and missed[1]["time"]

    with socket_customer(servers.base_url, session_id) as (client, _, inbox):
        # Not acknowledged last time (the tab closed at once, say): the same messages, the same ids.
        assert [m["delivery_id"] for m in take(inbox, 3)] == ids
        assert client.call("received", {"session_id": session_id, "delivery_ids": ids}, timeout=10) == {
            "status": "ok", "marked": 3}
        assert client.call("received", {"session_id": session_id, "delivery_ids": ids}, timeout=10) == {
            "status": "ok", "marked": 0}  # once
        page = owner.page(handoff.id)
        assert 'data-presence="open"' in page and page.count("delivered ") == 3

        assert owner.act(handoff.id, "resolve").status_code == 200
        [closed] = take(inbox, 1)  # live, while the chat is open
        assert closed["notice"] == "closed"
        assert closed["text"].startswith("Mara has closed this conversation.")
        client.call("received", {"session_id": session_id, "delivery_ids": [closed["delivery_id"]]},
                    timeout=10)
    assert OutboundMessages(servers.engine).undelivered([session_id]) == []  # nothing is sent a second time


def test_acknowledgements_are_checked(servers):
    with socket_customer(servers.base_url) as (client, session_id, _):
        other = client.call("received", {"session_id": "f" * 32, "delivery_ids": [1]}, timeout=10)
        assert other == {"status": "refused", "error": "no_session"}
        for bad in ([], ["1"], [0], [True], list(range(1, 102)), "1"):
            answer = client.call("received", {"session_id": session_id, "delivery_ids": bad}, timeout=10)
            assert answer["status"] == "refused" and answer["error"] == "invalid_delivery_ids", bad
        assert client.call("received", "nonsense", timeout=10)["status"] == "refused"


def test_a_reply_written_on_another_web_process_reaches_the_widget(servers):
    """Two web processes on one database and no Redis: the widget is connected to the first, the owner
    works on the second. The first process finds the reply in the database and sends it."""
    OwnerAccounts(servers.engine).add("second-process@example.com", "Mara", PASSWORD)
    port = free_port()
    with open(servers.logs / "web-second.log", "w") as log:
        second = subprocess.Popen(servers.web_command, cwd=ROOT, env={**servers.env, "BOT_PORT": str(port)},
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", [second])
        with socket_customer(servers.base_url) as (client, session_id, inbox):
            handoff = HandoffQueue(servers.engine).request(session_id, "human_handoff", {})
            owner = Console(f"http://127.0.0.1:{port}", "second-process@example.com")
            assert 'data-presence="open"' in owner.page(handoff.id)  # the first process's widget
            assert owner.act(handoff.id, "claim").status_code == 200
            assert owner.act(handoff.id, "reply", text="Written on the other process.").status_code == 200
            joined, reply = take(inbox, 2)
            assert (joined["notice"], reply["text"]) == ("joined", "Written on the other process.")
            ids = [joined["delivery_id"], reply["delivery_id"]]
            client.call("received", {"session_id": session_id, "delivery_ids": ids}, timeout=10)
            assert owner.page(handoff.id).count("delivered ") == 2
    finally:
        stop(second)
