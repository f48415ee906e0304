"""Handing over to a person: the queue when open and somebody is at the console, else a ticket by email."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff, ActionOpenTicket, ValidateTicketForm
from actions.services.channels.conversations import LateReplies
from actions.services.demo_orders import seed_demo_orders
from actions.services.handoffs import HandoffQueue
from actions.services.mail import Mailer, SmtpSettings
from actions.services.orders import OrderService
from actions.services.owners import OwnerAccounts
from tests.conftest import fixed_clock, prove, shop_time

OPEN = "2026-11-23 10:00"  # a Monday, open 08:00-18:00
CLOSED = "2026-11-23 21:30"


def make(cls, shop, engine, moment, mailer=None):
    clock = fixed_clock(shop_time(shop, moment))
    return cls(shop=shop, clock=clock, orders=OrderService(engine, shop, clock), mailer=mailer)


def tracker(text="can I talk to a person", intent="human_handoff", slots=None, sender="cust-1") -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker(sender, slots or {}, message, events, False, None, {}, "action_listen")


def ticket_tracker() -> Tracker:
    """Asked for a person, then gave the email address in the ticket form."""
    asked = {"text": "I'd like a person please", "intent": {"name": "human_handoff", "confidence": 0.9}}
    gave = {"text": "ana@example.com", "intent": {"name": "inform", "confidence": 0.9}, "entities": []}
    events = [
        {"event": "user", "text": asked["text"], "parse_data": asked},
        {"event": "user", "text": gave["text"], "parse_data": gave},
    ]
    return Tracker(
        "cust-1", {"ticket_email": "ana@example.com"}, gave, events, False, None, {}, "action_listen"
    )


def run(action, tracker_, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, domain))
    return [m["text"] for m in dispatcher.messages], {
        e["name"]: e.get("value") for e in events if e["event"] == "slot"
    }


def someone_at_the_console(engine, shop, moment):
    accounts = OwnerAccounts(engine)
    owner = accounts.add("mara@example.com", "Mara", "correct horse battery")
    accounts.seen(owner.id, shop_time(shop, moment) - dt.timedelta(minutes=1))


def test_open_with_somebody_at_the_console_joins_the_queue(shop, engine, domain):
    someone_at_the_console(engine, shop, OPEN)
    HandoffQueue(engine).request("someone-earlier", "human_handoff", {})
    seed_demo_orders(OrderService(engine, shop))
    prove(OrderService(engine, shop), "cust-1", "KC-10004")
    texts, slots = run(
        make(ActionHandoff, shop, engine, OPEN), tracker(slots={"verified_order": "KC-10004"}), domain
    )
    assert texts == [
        "I've asked a person to join this chat. You're number 2 in the queue; someone usually "
        "replies in about 10 minutes. Meanwhile I'm still here for questions about hours, delivery, "
        "returns or your order."
    ]
    assert slots["handoff_route"] == "queue"
    waiting = HandoffQueue(engine).open_for("cust-1")
    assert (
        waiting.status == "waiting" and waiting.summary["order"] == "KC-10004" and waiting.summary["verified"]
    )
    again, _ = run(make(ActionHandoff, shop, engine, OPEN), tracker(), domain)
    assert again == ["You're already in the queue for a person: number 2."]  # no second place


def test_open_but_nobody_at_the_console_takes_a_ticket(shop, engine, domain):
    texts, slots = run(make(ActionHandoff, shop, engine, OPEN), tracker(), domain)
    assert texts[0].startswith("Nobody from the team can chat right now. Leave your email address")
    assert slots["handoff_route"] == "ticket" and HandoffQueue(engine).open_for("cust-1") is None


def test_closed_takes_a_ticket_even_with_somebody_signed_in(shop, engine, domain):
    someone_at_the_console(engine, shop, CLOSED)
    texts, slots = run(make(ActionHandoff, shop, engine, CLOSED), tracker(), domain)
    assert texts[0].startswith(
        "We're closed right now; we open tomorrow at 08:00. Leave your email address and "
        "the team will reply within one working day."
    )
    assert slots["handoff_route"] == "ticket"


def test_the_email_address_is_checked(domain):
    dispatcher = CollectingDispatcher()
    assert ValidateTicketForm().validate_ticket_email("not an email", dispatcher, tracker(), domain) == {
        "ticket_email": None
    }
    assert "doesn't look like an email address" in dispatcher.messages[0]["text"]
    assert ValidateTicketForm().validate_ticket_email(" ana@example.com ", dispatcher, tracker(), domain) == {
        "ticket_email": "ana@example.com"
    }


def test_no_address_yet_is_not_called_a_bad_one(domain):
    """action_handoff sets ticket_email empty when it knows no address; the ticket form's first run then
    validates that None: the customer who asked for a person was told their words were not an email."""
    dispatcher = CollectingDispatcher()
    validated = ValidateTicketForm().validate_ticket_email(None, dispatcher, tracker(), domain)
    assert validated == {"ticket_email": None}
    assert dispatcher.messages == []


def test_the_ticket_is_stored_then_the_owner_is_emailed_then_the_customer_told(shop, engine, domain, smtp):
    mailer, inbox = smtp
    texts, slots = run(
        make(ActionOpenTicket, shop, engine, CLOSED, mailer),
        ticket_tracker(),
        domain,
    )
    ticket = HandoffQueue(engine).open_for("cust-1")
    assert ticket.status == "ticket" and ticket.contact_email == "ana@example.com"
    assert ticket.reply_due_at == shop_time(shop, "2026-11-24 18:00")  # by the end of the next opening
    [mail] = inbox.messages
    assert mail["To"] == shop.owner_email and mail["Reply-To"] == "ana@example.com"
    body = mail.get_payload(decode=True).decode()
    assert "Reply to ana@example.com by Tuesday 24 November 18:00" in body
    assert "Wanted: Talk to a person" in body and "Asked: I'd like a person please" in body
    assert "human_handoff" not in body
    assert texts == [
        "Thank you. I've passed this to the team; they'll reply within one working day at "
        "ana@example.com (by Tuesday 24 November, 18:00). Meanwhile I can still help with opening hours, "
        "delivery, returns and your orders."
    ]
    assert slots == {"handoff_route": None}


def test_without_smtp_the_ticket_is_still_stored(shop, engine, domain):
    unsent = Mailer(SmtpSettings())
    texts, _ = run(
        make(ActionOpenTicket, shop, engine, CLOSED, unsent),
        tracker("ana@example.com", "inform", {"ticket_email": "ana@example.com"}),
        domain,
    )
    assert HandoffQueue(engine).open_for("cust-1").status == "ticket" and texts[0].startswith("Thank you.")


def test_a_customer_who_proved_an_order_gets_a_ticket_to_its_email_without_being_asked(shop, engine, domain):
    seed_demo_orders(OrderService(engine, shop))
    prove(OrderService(engine, shop), "cust-1", "KC-10003")
    texts, slots = run(
        make(ActionHandoff, shop, engine, CLOSED), tracker(slots={"verified_order": "KC-10003"}), domain
    )
    assert slots["handoff_route"] == "ticket_open" and slots["ticket_email"] == "jo.baker@example.com"
    assert "will reply by email to jo.baker@example.com" in texts[0]
    assert HandoffQueue(engine).open_for("cust-1").contact_email == "jo.baker@example.com"


def channel_tracker(channel: str, sender: str = "chan-1") -> Tracker:
    message = {
        "text": "a person please",
        "intent": {"name": "human_handoff", "confidence": 0.9},
        "entities": [],
    }
    events = [{"event": "user", "text": message["text"], "parse_data": message, "input_channel": channel}]
    return Tracker(sender, {}, message, events, False, None, {}, "action_listen")


def test_on_telegram_a_ticket_is_answered_in_the_chat_without_asking_for_an_email(shop, engine, domain):
    texts, slots = run(make(ActionHandoff, shop, engine, CLOSED), channel_tracker("telegram"), domain)
    assert texts[0].startswith(
        "We're closed right now; we open tomorrow at 08:00. The team will reply here on "
        "Telegram within one working day (by Tuesday 24 November"
    )
    ticket = HandoffQueue(engine).open_for("chan-1")
    assert (
        slots["handoff_route"] == "ticket_open" and ticket.status == "ticket" and ticket.contact_email is None
    )


def test_on_whatsapp_only_a_reply_due_within_its_24_hours_comes_in_the_chat(shop, engine, domain):
    texts, slots = run(make(ActionHandoff, shop, engine, CLOSED), channel_tracker("whatsapp"), domain)
    assert "The team will reply here on WhatsApp" in texts[0] and slots["handoff_route"] == "ticket_open"
    saturday_night = "2026-11-28 21:30"  # the reply is due on Monday: WhatsApp's window will have closed
    texts, slots = run(
        make(ActionHandoff, shop, engine, saturday_night), channel_tracker("messenger", "chan-2"), domain
    )
    assert "Leave your email address" in texts[0] and slots["handoff_route"] == "ticket"


@pytest.mark.parametrize("channel, late", [
    ("messenger", LateReplies(human_agent=True)),  # Meta's Human Agent permission: a person has 7 days
    ("whatsapp", LateReplies(whatsapp_template="shop_reply")),  # an approved template: any time
])
def test_where_a_persons_reply_may_go_late_the_ticket_is_answered_in_the_chat(shop, engine, domain, channel,
                                                                             late):
    saturday_night = "2026-11-28 21:30"  # the reply is due on Monday, after the 24 hours
    clock = fixed_clock(shop_time(shop, saturday_night))
    action = ActionHandoff(shop=shop, clock=clock, orders=OrderService(engine, shop, clock), late=late)
    texts, slots = run(action, channel_tracker(channel, "chan-3"), domain)
    label = {"messenger": "Messenger", "whatsapp": "WhatsApp"}[channel]
    assert f"The team will reply here on {label}" in texts[0] and slots["handoff_route"] == "ticket_open"


def test_on_the_website_a_ticket_still_needs_an_email(shop, engine, domain):
    texts, slots = run(make(ActionHandoff, shop, engine, CLOSED), channel_tracker("socketio"), domain)
    assert "Leave your email address" in texts[0] and slots["handoff_route"] == "ticket"
