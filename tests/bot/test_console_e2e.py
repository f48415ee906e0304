"""A person takes over a live chat against the real servers: the reply reaches the customer's socket,
the bot stays silent while the person owns the chat, and answers again once it is handed back."""

from __future__ import annotations

import queue
import re

import pytest
import requests
from sqlalchemy import update

from actions.services import order_tables as t
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.servers import socket_customer

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_person_takes_over_and_hands_back(servers):
    OwnerAccounts(servers.engine).add("owner-e2e@example.com", "Mara", PASSWORD)
    with socket_customer(servers.base_url) as (client, session_id, inbox):
        handoff = HandoffQueue(servers.engine).request(
            session_id, "human_handoff", {"intent": "human_handoff"}
        )

        owner = requests.Session()
        form = owner.get(f"{servers.base_url}/console/login", timeout=10)
        signed_in = owner.post(
            f"{servers.base_url}/console/login",
            timeout=10,
            data={"csrf": csrf_of(form.text), "email": "owner-e2e@example.com", "password": PASSWORD},
        )
        assert signed_in.status_code == 200 and "Inbox" in signed_in.text
        page = owner.get(f"{servers.base_url}/console/handoffs/{handoff.id}", timeout=10)
        csrf = csrf_of(page.text)
        assert (
            owner.post(
                f"{servers.base_url}/console/handoffs/{handoff.id}/claim", data={"csrf": csrf}, timeout=10
            ).status_code
            == 200
        )
        owner.post(
            f"{servers.base_url}/console/handoffs/{handoff.id}/reply",
            timeout=10,
            data={"csrf": csrf, "text": "Hello, Mara from the shop here. How can I help?"},
        )
        joined, reply = inbox.get(timeout=10), inbox.get(timeout=10)
        assert (joined["text"], joined["notice"]) == ("Mara joined the chat", "joined")
        assert {k: reply[k] for k in ("text", "sender")} == {
            "text": "Hello, Mara from the shop here. How can I help?",
            "sender": {"type": "person", "name": "Mara"},
        }
        assert reply["delivery_id"] > joined["delivery_id"]  # the widget acknowledges it with this id

        ack = client.call(
            "user_uttered",
            {
                "message": "what are your opening hours?",
                "session_id": session_id,
                "message_id": "m-person-0001",
            },
            timeout=30,
        )
        assert ack["with_person"] is True
        with pytest.raises(queue.Empty):
            inbox.get(timeout=2)  # the bot said nothing: the person owns the chat
        page = owner.get(f"{servers.base_url}/console/handoffs/{handoff.id}", timeout=10)
        assert "what are your opening hours?" in page.text  # the person sees it

        owner.post(
            f"{servers.base_url}/console/handoffs/{handoff.id}/hand-back", data={"csrf": csrf}, timeout=10
        )
        # The question typed while the person had the chat is answered now; the rating waits for the end.
        said = [inbox.get(timeout=15)["text"] for _ in range(3)]
        assert said[0] == "Mara left the chat"
        assert said[1] == "I'm back. Let me answer what you asked while you were waiting."
        assert "09:00" in said[2] and "How did I do" not in " ".join(said)
        page = owner.get(f"{servers.base_url}/console/handoffs/{handoff.id}", timeout=10)
        assert page.text.count("what are your opening hours?") == 1  # passed to the bot again, shown once
        ack = client.call(
            "user_uttered",
            {
                "message": "when do you open on saturday?",
                "session_id": session_id,
                "message_id": "m-person-0002",
            },
            timeout=30,
        )
        assert ack["with_person"] is False
        assert "Sat" in inbox.get(timeout=10)["text"]
        client.call("user_uttered", {"message": "great, thanks!", "session_id": session_id,
                                     "message_id": "m-person-0003"}, timeout=30)
        said = [inbox.get(timeout=10)["text"] for _ in range(2)]
        assert said[0] == "You're welcome!" and said[1].startswith("How did I do today?")  # rated at the end


def test_nobody_at_the_console_means_a_ticket_by_email(servers):
    with servers.engine.begin() as connection:  # nobody has used the console lately
        connection.execute(update(t.owners).values(last_seen_at=None))
    sender = "ticket-e2e"
    asked = requests.post(
        f"{servers.base_url}/webhooks/rest/webhook",
        timeout=60,
        json={"sender": sender, "message": "can I talk to a real person please"},
    ).json()
    assert "Leave your email address" in " ".join(m["text"] for m in asked)
    done = requests.post(
        f"{servers.base_url}/webhooks/rest/webhook",
        timeout=60,
        json={"sender": sender, "message": "ana.silva@example.com"},
    ).json()
    assert "they'll reply within one working day at ana.silva@example.com" in " ".join(
        m["text"] for m in done
    )
    ticket = HandoffQueue(servers.engine).open_for(sender)
    assert ticket.status == "ticket" and ticket.contact_email == "ana.silva@example.com"
    mail = next(m for m in servers.mail.messages if m["Reply-To"] == "ana.silva@example.com")
    assert mail["To"] == "owner@kettleandcrumb.example"  # shop.yml's owner.email
    assert "can I talk to a real person please" in mail.get_payload(decode=True).decode()


def test_a_complaint_is_recorded_then_a_ticket_to_the_address_given(servers):
    with servers.engine.begin() as connection:  # nobody has used the console lately
        connection.execute(update(t.owners).values(last_seen_at=None))
    sender = "complaint-e2e"

    def say(text: str) -> str:
        answer = requests.post(f"{servers.base_url}/webhooks/rest/webhook", timeout=60,
                               json={"sender": sender, "message": text}).json()
        return " ".join(m.get("text", "") for m in answer)

    assert "tell me what happened" in say("I want to make a complaint")
    assert "Is this about an order?" in say("the barista was rude and my flat white was cold")
    assert "What email address" in say('/inform{"choice": "none"}')
    done = say("it's mia.k@example.com")
    case = re.search(r"recorded your complaint as case (C-\d+)", done).group(1)
    assert "will reply by email to mia.k@example.com within one working day" in done
    with servers.engine.connect() as connection:
        stored = connection.execute(t.cases.select().where(t.cases.c.number == case)).mappings().one()
    assert (stored["category"], stored["description"], stored["contact"], stored["conversation_id"]) == (
        "complaint", "the barista was rude and my flat white was cold", "mia.k@example.com", sender)
    ticket = HandoffQueue(servers.engine).open_for(sender)
    assert (ticket.status, ticket.reason, ticket.case_id) == ("ticket", "complaint", stored["id"])
    mail = next(m for m in servers.mail.messages if m["Reply-To"] == "mia.k@example.com")
    assert "the barista was rude" in mail.get_payload(decode=True).decode()
    assert "14 Quay Street" in say("where is the shop?")  # the bot goes on answering
