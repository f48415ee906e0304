"""Complaints: the form's answers, the case committed before the bot speaks, and the one way to a person."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.complaint import AskComplaintOrder, ValidateComplaintForm
from actions.handoff import ActionHandoff
from actions.order_answers import ActionFinishOrderTask
from actions.services import order_tables as t
from actions.services.demo_orders import seed_demo_orders
from actions.services.handoffs import HandoffQueue
from actions.services.orders import OrderService
from tests.actions.test_handoff import CLOSED, OPEN, make, run, someone_at_the_console, tracker
from tests.conftest import prove


def form_tracker(text: str, intent: str, slots: dict) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker(
        "cust-9",
        slots,
        message,
        [{"event": "user", "text": text, "parse_data": message}],
        False,
        None,
        {"name": "complaint_form"},
        "action_listen",
    )


def validate(shop, method: str, value, slots=None):
    dispatcher = CollectingDispatcher()
    form = ValidateComplaintForm(shop=shop)
    result = getattr(form, method)(value, dispatcher, form_tracker(str(value), "inform", slots or {}), {})
    return result, [m.get("text") for m in dispatcher.messages], dispatcher.messages


def extract(shop, text: str, intent: str, slots: dict):
    return asyncio.run(
        ValidateComplaintForm(shop=shop).extract_complaint_text(
            CollectingDispatcher(), form_tracker(text, intent, slots), {}
        )
    )


def test_a_first_message_that_tells_what_happened_is_not_asked_again(shop):
    told = "I'm really unhappy, my beans arrived stale and nobody answered my emails"
    assert extract(shop, told, "complaint", {"requested_slot": None}) == {"complaint_text": told}
    assert extract(shop, "I want to make a complaint", "complaint", {"requested_slot": None}) == {}
    assert extract(shop, told, "complaint", {"requested_slot": "complaint_order"}) == {}


def test_small_talk_is_not_what_happened(shop):
    def told(text, intent):
        dispatcher = CollectingDispatcher()
        result = ValidateComplaintForm(shop=shop).validate_complaint_text(
            text, dispatcher, form_tracker(text, intent, {"requested_slot": "complaint_text"}), {})
        return result, [m.get("text") for m in dispatcher.messages]

    # "how are you" had been stored as the complaint and the real story then refused as an order number
    assert told("how are you", "how_are_you") == ({"complaint_text": None}, ["I'm well, thanks for asking."])
    assert told("lol", "laugh") == ({"complaint_text": None}, [])
    story = "the beans arrived stale and the bag was ripped, really not happy"
    assert told(story, "damaged_item") == ({"complaint_text": story}, [])
    long_greeting = "hello, how are you, I'm writing because the barista was really rude to my son today"
    assert told(long_greeting, "greet")[0] == {"complaint_text": long_greeting}


def test_which_order_takes_a_number_a_button_or_a_no(shop):
    assert validate(shop, "validate_complaint_order", "kc 10004")[0] == {"complaint_order": "KC-10004"}
    assert validate(shop, "validate_complaint_order", "none")[0] == {"complaint_order": "none"}
    assert validate(shop, "validate_complaint_order", "no it's about the café")[0] == {
        "complaint_order": "none"
    }
    result, texts, messages = validate(shop, "validate_complaint_order", "the blue one")
    assert result == {"complaint_order": None}
    assert "they look like KC-" in texts[0]
    assert messages[0]["buttons"][0]["title"] == "Not about an order"


def test_the_contact_must_be_an_email_address(shop):
    assert validate(shop, "validate_ticket_email", "mia@example.com")[0] == {
        "ticket_email": "mia@example.com"
    }
    assert validate(shop, "validate_ticket_email", "call me")[0] == {"ticket_email": None}
    assert validate(shop, "validate_complaint_text", "/inform")[0] == {"complaint_text": None}


def test_a_known_order_is_offered_as_a_button(shop, domain):
    dispatcher = CollectingDispatcher()
    asyncio.run(
        AskComplaintOrder().run(
            dispatcher, form_tracker("x", "complaint", {"verified_order": "KC-10004"}), domain
        )
    )
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["Order KC-10004", "Not about an order"]


def complaint_done(order="none", email="mia@example.com") -> Tracker:
    return tracker(
        "mia@example.com",
        "inform",
        {
            "complaint_text": "The barista was rude & the flat white was cold <b>twice</b>",
            "complaint_order": order,
            "ticket_email": email,
        },
    )


def test_closed_the_complaint_is_a_case_and_a_ticket_to_the_address_given(shop, engine, domain, smtp):
    mailer, inbox = smtp
    texts, slots = run(make(ActionHandoff, shop, engine, CLOSED, mailer), complaint_done(), domain)
    with engine.connect() as connection:
        case = connection.execute(select(t.cases)).mappings().one()
    ticket = HandoffQueue(engine).open_for("cust-1")
    assert (case["category"], case["contact"], case["order_id"]) == ("complaint", "mia@example.com", None)
    assert case["description"] == "The barista was rude & the flat white was cold <b>twice</b>"
    assert (ticket.status, ticket.reason, ticket.case_id, ticket.contact_email) == (
        "ticket",
        "complaint",
        case["id"],
        "mia@example.com",
    )
    assert ticket.summary["complaint"] == case["description"] and ticket.summary["case"] == case["number"]
    assert texts[0].startswith(
        f"I'm sorry; that isn't the experience we want you to have. I've recorded your "
        f"complaint as case {case['number']}"
    )
    local_due = ticket.reply_due_at.astimezone(shop.timezone)
    assert (
        f"will reply by email to mia@example.com within one working day (by Tuesday 24 November, "
        f"{local_due:%H:%M})" in texts[0]
    )
    assert slots == {
        "complaint_text": None,
        "complaint_order": None,
        "handoff_route": "ticket_open",
        "ticket_email": "mia@example.com",
        "requested_slot": None,
        **{k: None for k in slots if k.startswith("order_")},
    }
    [mail] = inbox.messages
    assert "The barista was rude" in mail.get_payload() and mail["Reply-To"] == "mia@example.com"


def test_open_with_somebody_there_the_complaint_joins_the_queue_with_its_order(shop, engine, domain):
    someone_at_the_console(engine, shop, OPEN)
    action = make(ActionHandoff, shop, engine, OPEN)
    seed_demo_orders(action.orders)
    texts, slots = run(action, complaint_done(order="KC-10004"), domain)
    handoff = HandoffQueue(engine).open_for("cust-1")
    with engine.connect() as connection:
        case = connection.execute(select(t.cases)).mappings().one()
    assert (handoff.status, handoff.reason, handoff.case_id) == ("waiting", "complaint", case["id"])
    assert handoff.summary["order"] == "KC-10004" and handoff.summary["verified"] is False
    assert case["order_id"] is not None
    assert "You're number 1 in the queue" in texts[0] and slots["handoff_route"] == "queue"


def test_an_order_number_we_do_not_know_is_kept_in_the_description(shop, engine, domain):
    texts, _ = run(make(ActionHandoff, shop, engine, CLOSED), complaint_done(order="KC-99999"), domain)
    with engine.connect() as connection:
        case = connection.execute(select(t.cases)).mappings().one()
    assert case["order_id"] is None and case["description"].startswith("(order KC-99999, not found) ")


def test_after_the_bot_gave_up_the_handoff_says_so(shop, engine, domain):
    gave_up = tracker("/human_handoff")
    gave_up.events.insert(0, {"event": "action", "name": "action_default_fallback"})
    run(make(ActionHandoff, shop, engine, CLOSED), gave_up, domain)
    # No email yet: nothing is stored until the ticket form has one; the reason is kept for then.
    assert HandoffQueue(engine).open_for("cust-1") is None
    from actions.handoff import handoff_reason

    assert handoff_reason(gave_up) == "fallback"
    assert handoff_reason(tracker()) == "human_handoff"


def test_an_order_problem_for_a_person_opens_a_case_and_hands_over(shop, engine, domain):
    action = make(ActionFinishOrderTask, shop, engine, CLOSED)
    seed_demo_orders(action.orders)
    order = action.orders.get("KC-10004")
    prove(action.orders, "cust-1", "KC-10004")
    slots = {
        "order_task": "damaged_item",
        "verified_order": "KC-10004",
        "order_id": "KC-10004",
        "order_details": "Ceramic Mug",
        "order_reason": "handle snapped off",
        "order_remedy": "person",
    }
    texts, _ = run(action, tracker("a person please", "inform", slots), domain)
    handoff = HandoffQueue(engine).open_for("cust-1")
    assert (handoff.status, handoff.reason, handoff.contact_email) == ("ticket", "order_case", order.email)
    assert handoff.summary["problem"] == "handle snapped off" and handoff.case_id is not None
    assert texts[0].startswith("Thank you. I've opened case C-") and f"by email to {order.email}" in texts[0]


def test_every_form_slot_has_a_question_and_a_validator(domain):
    from actions.handoff import ValidateTicketForm

    actions = set(domain["actions"])
    for form, validator in (("complaint_form", ValidateComplaintForm), ("ticket_form", ValidateTicketForm)):
        for slot in domain["forms"][form]["required_slots"]:
            assert {f"action_ask_{slot}", f"action_ask_{form}_{slot}"} & actions, (form, slot)
            assert callable(getattr(validator, f"validate_{slot}", None)), (form, slot)


def test_a_complaint_while_already_waiting_joins_the_open_handoff(shop, engine, domain):
    someone_at_the_console(engine, shop, OPEN)
    queue = HandoffQueue(engine)
    waiting = queue.request("cust-1", "human_handoff", {"intent": "human_handoff", "asked": "a person"})
    texts, _ = run(make(ActionHandoff, shop, engine, OPEN), complaint_done(), domain)
    joined = queue.get(waiting.id)
    assert joined.case_id is not None and joined.summary["complaint"].startswith("The barista was rude")
    assert joined.summary["asked"] == "a person"  # what was there stays
    assert "You're already in the queue for a person: number 1." in texts[0]


def test_a_customer_who_proved_an_order_is_not_asked_for_an_email_again(shop, engine, domain):
    """Issue 12: the complaint asked for the email although the chat had verified an order."""
    orders = OrderService(engine, shop)
    seed_demo_orders(orders)
    prove(orders, "cust-v", "KC-10003")
    form = ValidateComplaintForm(shop=shop, orders=orders)
    message = {"text": "the mug arrived chipped and nobody answers my emails", "intent": {"name": "inform"},
               "entities": []}
    tracker = Tracker("cust-v", {"verified_order": "KC-10003", "complaint_text": message["text"],
                                 "complaint_order": "KC-10003", "requested_slot": "complaint_order"},
                      message, [{"event": "user", "text": message["text"], "parse_data": message},
                                {"event": "slot", "name": "complaint_order", "value": "KC-10003"}],
                      False, None, {"name": "complaint_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(form.run(dispatcher, tracker, domain))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["ticket_email"] == "jo.baker@example.com"  # the last question is not asked
    assert dispatcher.messages == []
