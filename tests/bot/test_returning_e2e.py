"""A customer who comes back to the same browser the next day, against the real servers: the new chat
welcomes them back with what the earlier chat showed, and shows the order again only after a new proof."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from actions.services import order_tables as t
from tests.bot.test_orders_e2e import rows, say, texts

pytestmark = pytest.mark.e2e


def test_a_returning_visitor_is_welcomed_back_and_proves_the_order_again(servers):
    sender = "returning-visitor-1"
    say(servers, sender, "where is my order KC-10003?")
    first = texts(say(servers, sender, "jo.baker@example.com"))
    assert "Thank you, Jo, I've found order KC-10003." in first and "on its way" in first
    (link,) = rows(servers, t.customer_conversations, conversation_id=sender)
    assert link["how"] == "order"

    # The next day: the browser keeps its conversation id, and Rasa starts a new chat in it. (The web server
    # is restarted around the change of the stored times: it keeps recent conversations in memory.)
    servers.stop_web()
    with servers.engine.begin() as connection:
        for event_id, data in connection.execute(text("SELECT id, data FROM events WHERE sender_id = :s"),
                                                 {"s": sender}).all():
            event = json.loads(data)
            event["timestamp"] -= 86400
            connection.execute(text("UPDATE events SET timestamp = :t, data = :d WHERE id = :i"),
                               {"t": event["timestamp"], "d": json.dumps(event), "i": event_id})
    servers.start_web()
    web_log, actions_log = len(servers.log("web")), len(servers.log("actions"))

    welcome = say(servers, sender, "hi again!")
    assert texts(welcome).startswith("Welcome back, Jo! Is this about your order KC-10003, shipped ")
    assert "Ethiopia" not in texts(welcome)  # only what the earlier chat showed, nothing read afresh
    asked = texts(say(servers, sender, "yes"))
    assert "email address or phone number on that order" in asked and "order number" not in asked
    assert "Ethiopia" not in asked
    again = texts(say(servers, sender, "jo.baker@example.com"))
    assert "I've found order KC-10003" in again and "Ethiopia Yirgacheffe" in again
    # The shared servers' logs hold other tests' lines too; these are this test's (after the restart).
    assert "Traceback" not in servers.log("web")[web_log:] + servers.log("actions")[actions_log:]
