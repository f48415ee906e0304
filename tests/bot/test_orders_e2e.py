"""The order flows over REST against the real servers, on the demo orders seeded into their database
(tests/bot/conftest.py); the database is checked afterwards (an order really cancelled, a case really
recorded, an audit row written)."""

from __future__ import annotations

from typing import Dict, List

import pytest
import requests
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.handoffs import HandoffQueue

pytestmark = pytest.mark.e2e


def say(servers, sender: str, text: str) -> List[Dict]:
    reply = requests.post(
        f"{servers.base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(messages: List[Dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def rows(servers, table, **where):
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with servers.engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def order_status(servers, number: str) -> str:
    return rows(servers, t.orders, number=number)[0]["status"]


def test_the_action_server_answers_only_the_web_server(servers):
    """Issue 13: a direct call with forged slots cancelled an order. Now it needs the web server's secret
    (and the conversation would still have to prove the order)."""
    actions = f"http://127.0.0.1:{servers.env['ACTION_PORT']}"
    call = {"next_action": "action_finish_order_task", "sender_id": "attacker-1", "version": "3.6.2",
            "domain": {}, "tracker": {"sender_id": "attacker-1", "latest_message": {}, "events": [],
                                      "slots": {"order_task": "cancel_order", "verified_order": "KC-10001",
                                                "order_id": "KC-10001", "order_confirmed": True}}}
    before = order_status(servers, "KC-10001")
    assert requests.post(f"{actions}/webhook", json=call, timeout=10).status_code == 401
    assert requests.get(f"{actions}/actions", timeout=10).status_code == 401
    signed = {"X-Action-Secret": servers.env["ACTION_SERVER_SECRET"]}
    forged = requests.post(f"{actions}/webhook", json=call, headers=signed, timeout=10)
    assert forged.status_code == 200 and "KC-10001" not in forged.text  # the secret alone proves nothing
    assert rows(servers, t.audit_log, conversation_id="attacker-1") == []
    assert order_status(servers, "KC-10001") == before
    assert "Refused POST /webhook" in servers.log("actions")


def test_where_is_my_order_in_one_message(servers):
    answer = texts(say(servers, "e2e-status", "where is my order KC-10003? my email is jo.baker@example.com"))
    assert "Thank you, Jo, I've found order KC-10003." in answer
    assert "is on its way" in answer and "https://www.royalmail.com/track-your-item" in answer


def test_paid_order_change_address_then_cancel_with_a_question_in_between(servers):
    s = "e2e-paid"
    assert "What's the order number?" in texts(say(servers, s, "I need to change the delivery address"))
    assert "email address or phone number" in texts(say(servers, s, "KC-10001"))
    answer = texts(say(servers, s, "what time do you close on saturday?"))
    assert "09:00–17:00" in answer and "email address or phone number" in answer  # and back to the flow
    answer = texts(say(servers, s, "alex.morgan@example.com"))
    assert "Thank you, Alex, I've found order KC-10001." in answer and "new delivery address" in answer
    answer = texts(say(servers, s, "Flat 2, 18 Park Row, Leeds LS1 5HD"))
    assert "To confirm: deliver order KC-10001 to Flat 2, 18 Park Row, Leeds LS1 5HD" in answer
    assert "Done: order KC-10001 will be delivered to Flat 2, 18 Park Row, Leeds LS1 5HD." in texts(
        say(servers, s, "/affirm")
    )
    assert (
        rows(servers, t.orders, number="KC-10001")[0]["shipping_address"]
        == "Flat 2, 18 Park Row, Leeds LS1 5HD"
    )

    # Verified now: cancelling asks only for the confirmation.
    answer = texts(say(servers, s, "actually please cancel the order"))
    assert "Shall I cancel order KC-10001" in answer and "order number" not in answer
    assert "Done: order KC-10001 is cancelled." in texts(say(servers, s, "/affirm"))
    assert order_status(servers, "KC-10001") == "cancelled"
    audit = [r["action"] for r in rows(servers, t.audit_log, conversation_id=s)]
    assert [a for a in audit if a in ("change_address", "cancel_order")] == ["change_address", "cancel_order"]
    again = texts(say(servers, s, "cancel KC-10001"))
    assert "already cancelled" in again
    assert [r["action"] for r in rows(servers, t.audit_log, conversation_id=s)].count("cancel_order") == 1


def test_a_status_question_while_a_cancellation_waits_does_not_lead_to_the_cancellation(servers):
    """Issue 13: "where is my order?" while "Shall I cancel?" waited asked the cancel question again, and the
    "yes" after it cancelled the order."""
    s = "e2e-stale-task"
    say(servers, s, "I want to cancel my order KC-10002")
    assert "Shall I cancel order KC-10002" in texts(say(servers, s, "sam.patel@example.com"))
    answer = texts(say(servers, s, "where is my order KC-10002?"))
    assert "I've left the cancellation; nothing was changed." in answer and "Shall I cancel" not in answer
    assert "KC-10002" in answer and "packed" in answer
    say(servers, s, "yes")
    assert order_status(servers, "KC-10002") == "packed"
    assert not [r for r in rows(servers, t.audit_log, conversation_id=s) if r["action"] == "cancel_order"]


def test_three_wrong_details_lock_the_lookup(servers):
    s = "e2e-probe"
    first = texts(say(servers, s, "where is my order KC-10002? my email is nobody@example.com"))
    second = texts(say(servers, s, "KC-99999 sam.patel@example.com"))  # no such order
    assert "I couldn't find order KC-10002 with that email address or phone number." in first
    same = lambda said: said.split(" (")[0].replace("KC-10002", "N").replace("KC-99999", "N")  # noqa: E731
    assert same(first) == same(second)  # no hint which one was wrong
    third = texts(say(servers, s, "KC-10002 someone@example.com"))
    assert "stopped looking up orders in this conversation" in third and "A person can check it" in third
    locked = texts(say(servers, s, "KC-10002 sam.patel@example.com"))  # right details, too late
    assert "can't look up orders in this conversation any more" in locked and "packed" not in locked
    assert [r["failures"] for r in rows(servers, t.verification_attempts, conversation_id=s)] == [3]


def test_return_inside_the_window_with_quick_replies(servers):
    s = "e2e-return"
    say(servers, s, "I want to return something from KC-10004")
    answer = say(servers, s, "07700 900104")
    assert "Which item would you like to return?" in texts(answer)
    choice = next(b for m in answer for b in m.get("buttons", []) if b["title"] == "Milk Frother")
    reason = say(servers, s, choice["payload"])
    assert "May I ask why?" in texts(reason)
    done = texts(say(servers, s, reason[-1]["buttons"][1]["payload"]))
    assert "I've recorded the return of Milk Frother from order KC-10004." in done
    assert [(r["items"], r["reason"]) for r in rows(servers, t.returns)] == [
        ("Milk Frother", "Not what I expected")
    ]


def test_return_outside_the_window_is_refused_with_the_date(servers):
    answer = texts(say(servers, "e2e-late-return", "can I return KC-10005? dana.white@example.com"))
    assert "The 30-day return window for order KC-10005 ended on" in answer
    assert rows(servers, t.returns, conversation_id="e2e-late-return") == []


def test_damaged_item_opens_a_case(servers):
    s = "e2e-damaged"
    say(servers, s, "my mug from order KC-10004 arrived broken, chris.evans@example.com")
    say(servers, s, '/inform{"choice": "Ceramic Mug"}')
    assert "What would you prefer?" in texts(say(servers, s, "the handle snapped off in the box"))
    done = texts(say(servers, s, '/inform{"choice": "refund"}'))
    case = rows(servers, t.cases, conversation_id=s)[0]
    assert f"I've opened case {case['number']} for order KC-10004." in done
    assert (case["category"], case["items"], case["description"], case["remedy"]) == (
        "damaged",
        "Ceramic Mug",
        "the handle snapped off in the box",
        "refund",
    )
    assert rows(servers, t.audit_log, conversation_id=s, action="open_case")


def test_never_mind_leaves_the_flow_and_changes_nothing(servers):
    s = "e2e-stop"
    say(servers, s, "cancel my order please")
    answer = texts(say(servers, s, "never mind"))
    assert "No problem, I've left it there and changed nothing." in answer
    assert "Our hours" in texts(say(servers, s, "when are you open?"))  # no order question any more


def test_late_order_and_refund_status(servers):
    s = "e2e-late"
    late = texts(say(servers, s, "where is order KC-10008? pat.green@example.com"))
    assert "I'm sorry: it should have arrived by" in late
    refund = texts(
        say(servers, "e2e-refund", "has my refund for KC-10009 gone through? ria.shah@example.com")
    )
    assert "Your refund request for order KC-10009 from" in refund


def test_late_order_case_typed_rather_than_tapped(servers):
    """A customer who types "yes please" to "Shall I open a case…?" gets the case, as the button does."""
    s = "e2e-late-case-typed"
    late = texts(say(servers, s, "where is my order KC-10008? my email is pat.green@example.com"))
    assert "Shall I open a case" in late
    assert "Which item is missing?" in texts(say(servers, s, "yes please"))
    assert "what happened" in texts(say(servers, s, "the whole parcel"))
    assert "What would you prefer?" in texts(say(servers, s, "nothing has arrived after almost two weeks"))
    done = texts(say(servers, s, "I'd like a refund please"))
    case = rows(servers, t.cases, conversation_id=s)[0]
    assert f"I've opened case {case['number']} for order KC-10008." in done
    assert (case["category"], case["items"].lower()) == ("late", "the whole parcel")  # as typed


def test_when_will_it_arrive_after_an_order_check_gets_that_orders_date(servers):
    """It got our delivery times for every option; the customer had just been told about the order."""
    s = "e2e-when-arrive"
    assert "is on its way" in texts(say(servers, s, "where is my order KC-10003? jo.baker@example.com"))
    again = texts(say(servers, s, "when will it arrive?"))
    assert "Order KC-10003" in again and "It should arrive by" in again and "2–4 working days" not in again
    assert "2–4 working days" in texts(say(servers, s, "and how long does delivery take in general?"))
    assert "2–4 working days" in texts(say(servers, "e2e-when-arrive-unchecked", "when will it arrive?"))


def test_packed_order_cannot_be_changed_and_stays_as_it_was(servers):
    s = "e2e-packed"
    answer = texts(say(servers, s, "can I swap the item in order KC-10002? my phone is 07700 900102"))
    assert "Order KC-10002 is already packed, so it can't be changed here any more." in answer
    assert rows(servers, t.order_changes, conversation_id=s) == []
    assert order_status(servers, "KC-10002") == "packed"


def test_late_order_case_for_the_whole_parcel(servers):
    s = "e2e-late-case"
    late = say(servers, s, "where is my order KC-10008? my email is pat.green@example.com")
    assert "I'm sorry: it should have arrived by" in texts(late)
    open_case = next(b for m in late for b in m.get("buttons", []) if b["title"] == "Yes, open a case")
    which = say(servers, s, open_case["payload"])  # verified already: straight to the question
    assert "Which item is missing?" in texts(which)
    whole = next(b for m in which for b in m.get("buttons", []) if b["title"] == "The whole parcel")
    assert "what happened" in texts(say(servers, s, whole["payload"]))
    assert "What would you prefer?" in texts(say(servers, s, "nothing has arrived after almost two weeks"))
    done = texts(say(servers, s, '/inform{"choice": "person"}'))
    case = rows(servers, t.cases, conversation_id=s)[0]
    assert f"I've opened case {case['number']} for order KC-10008." in done
    # A person settles it: the same way to a person as asking for one (a ticket: nobody is at the console).
    handoff = HandoffQueue(servers.engine).open_for(s)
    assert (handoff.reason, handoff.case_id, handoff.contact_email) == ("order_case", case["id"],
                                                                         "pat.green@example.com")
    assert "The team will reply by email to pat.green@example.com" in done or "You're number" in done
    assert (case["category"], case["items"], case["remedy"]) == ("late", "The whole parcel", "person")
