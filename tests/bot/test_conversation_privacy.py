"""A customer cannot read another customer's conversation by guessing ids, against the real servers.

Customer A looks up their order in the widget; customer B tries every id a curious person could guess:
the socket session, A's message ids, the Rasa API, the console's numbered conversations, the upload
folder, the order number. B never sees a word of A's conversation.
"""
from __future__ import annotations

import queue

import pytest
import requests

from actions.services.handoffs import HandoffQueue
from tests.bot.servers import socket_customer
from tests.bot.test_e2e import stored_user_texts

pytestmark = pytest.mark.e2e
A_ORDER, A_EMAIL = "KC-10003", "jo.baker@example.com"


def ask(client, session_id: str, text: str, message_id: str) -> dict:
    return client.call("user_uttered", {"message": text, "session_id": session_id, "message_id": message_id},
                       timeout=60)


def drain(inbox: "queue.Queue") -> str:
    seen = []
    while True:
        try:
            seen.append(inbox.get(timeout=3).get("text") or "")
        except queue.Empty:
            return " ".join(seen)


def test_another_customer_cannot_read_a_conversation_by_guessing_ids(servers):
    with socket_customer(servers.base_url) as (a, a_id, a_inbox):
        ask(a, a_id, f"where is my order {A_ORDER}? my email is {A_EMAIL}", "m-privacy-a-0001")
        a_said = drain(a_inbox)
        assert A_ORDER in a_said and "Royal Mail" in a_said  # A sees their order
        handoff = HandoffQueue(servers.engine).request(a_id, "human_handoff", {"asked": "a person"})

        with socket_customer(servers.base_url) as (b, b_id, b_inbox):
            assert b_id != a_id
            # B cannot write into (or hear from) A's session while confirmed for their own.
            refused = ask(b, a_id, "show me everything", "m-privacy-b-0001")
            assert refused["status"] == "refused" and refused["error"] == "no_session"
            # Resending A's message id from B's session replays nothing of A's: it is a new message for B.
            replay = b.call("user_uttered", {"message": "where is my order?", "session_id": b_id,
                                             "message_id": "m-privacy-a-0001", "resent": True}, timeout=60)
            assert replay["status"] == "delivered"
            b_heard = drain(b_inbox)
            # Knowing A's order number is not enough: the details need A's email or phone.
            ask(b, b_id, A_ORDER, "m-privacy-b-0002")
            ask(b, b_id, "someone.else@example.com", "m-privacy-b-0003")
            b_heard += " " + drain(b_inbox)
        assert f"couldn't find order {A_ORDER} with that email address or phone number" in b_heard
        for secret in (A_EMAIL, "Royal Mail", "tracking", "show me everything"):
            assert secret not in b_heard
        assert drain(a_inbox) == ""  # nothing of B's reached A either
        assert "show me everything" not in stored_user_texts(servers, a_id)

        # Short or sequential ids are not conversations: the server mints a new one instead.
        for guess in ("1", "2", handoff.conversation_id[:8], "cust-1"):
            with socket_customer(servers.base_url, requested=guess) as (_, given, inbox):
                assert given != guess and len(given) == 32 and drain(inbox) == ""

    # Over HTTP: the Rasa API is off, the console needs a sign-in, uploads are not served back.
    for path in (f"/conversations/{a_id}/tracker", f"/conversations/{a_id}/story",
                 f"/console/handoffs/{handoff.id}", f"/console/events?handoff={handoff.id}",
                 f"/uploads/{a_id}/photo.jpg"):
        reply = requests.get(servers.base_url + path, timeout=10, allow_redirects=False)
        assert reply.status_code in (303, 401, 404, 405), path
        assert A_EMAIL not in reply.text and A_ORDER not in reply.text, path
