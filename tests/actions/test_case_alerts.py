"""The bot's cases reach the owner: a damaged / wrong / missing item, a late order and a cancellation by
the bot are emailed to shop.yml's owner address (real SMTP on loopback) after they are committed; a mail
failure loses nothing; a case that needs a person is in the inbox like a ticket."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.order_answers import ActionFinishOrderTask
from actions.services import order_tables as t
from actions.services.case_alerts import case_email, console_url_from
from actions.services.cases import CaseBook
from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.handoffs import HandoffQueue
from actions.services.mail import Mailer, SmtpSettings
from actions.services.migrations import migrate
from actions.services.orders import OrderService
from tests.conftest import fixed_clock, shop_time
from tests.smtp_inbox import free_port

SENDER = "0123456789abcdef0123456789abcdef"
PHOTO = f"{SENDER}/{'a' * 32}.jpg"


@pytest.fixture
def clock(shop):
    return fixed_clock(shop_time(shop, "2026-11-23 10:00"))


@pytest.fixture
def orders(tmp_path, shop, clock):
    service = OrderService(create_database_engine(f"sqlite:///{tmp_path}/orders.db"), shop, clock)
    migrate(service.engine)
    seed_demo_orders(service)
    return service


def finish(shop, clock, orders, mailer, slots: Dict[str, Any]):
    if slots.get("verified_order"):  # as the flow does before it finishes: the order proved in this chat
        assert orders.verify(slots["verified_order"], slots["order_contact"], SENDER)
    tracker = Tracker(SENDER, slots, {"text": "x", "intent": {"name": "inform"}, "entities": []}, [], False,
                      None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    action = ActionFinishOrderTask(shop=shop, clock=clock, orders=orders, mailer=mailer)
    asyncio.run(action.run(dispatcher, tracker, {}))
    return [m["text"] for m in dispatcher.messages]


def problem(order: str, email: str, task: str, remedy: str, **more: Any) -> Dict[str, Any]:
    return {"order_id": order, "order_contact": email, "verified_order": order, "order_task": task,
            "order_details": "Ceramic Mug", "order_reason": "the handle <b>snapped</b>",
            "order_remedy": remedy, **more}


def test_a_damaged_item_case_is_emailed_to_the_owner_after_it_is_stored(shop, clock, orders, smtp):
    mailer, inbox = smtp
    slots = problem("KC-10004", "chris.evans@example.com", "damaged_item", "replacement", order_photo=PHOTO)
    texts = finish(shop, clock, orders, mailer, slots)
    case = CaseBook(orders.engine).list()[0]
    assert texts[0].startswith(f"Thank you. I've opened case {case.number} for order KC-10004.")
    [(recipients, message)] = inbox.envelopes
    assert recipients == [shop.owner_email]
    assert message["Subject"] == f"New case {case.number}: damaged item on order KC-10004"
    assert message["Reply-To"] == "chris.evans@example.com"
    body = message.get_payload(decode=True).decode()
    assert "Customer: Chris Evans · chris.evans@example.com." in body
    assert "What they said: the handle <b>snapped</b>" in body and "They asked for a replacement." in body
    assert "They attached a photo" in body
    assert f"Open the case: http://127.0.0.1:5005/console/cases/{case.id}" in body
    assert [h.what for h in CaseBook(orders.engine).get(case.id).history] == [
        "Opened by the assistant", "The owner was emailed"]


def test_a_late_order_case_and_a_cancellation_by_the_bot_reach_the_owner(shop, clock, orders, smtp):
    mailer, inbox = smtp
    late_slots = problem("KC-10008", "pat.green@example.com", "missing_item", "refund")
    finish(shop, clock, orders, mailer, late_slots)
    texts = finish(shop, clock, orders, mailer, {
        "order_id": "KC-10001", "order_contact": "alex.morgan@example.com", "verified_order": "KC-10001",
        "order_task": "cancel_order", "order_confirmed": True})
    assert texts[0].startswith("Done: order KC-10001 is cancelled.")
    late, cancelled = sorted(CaseBook(orders.engine).list(), key=lambda c: c.id)
    assert (late.category, late.kind) == ("late", "Late order")
    assert (cancelled.category, cancelled.status) == ("cancellation", "open")
    assert [m["Subject"] for m in inbox.messages] == [
        f"New case {late.number}: late order on order KC-10008",
        f"New case {cancelled.number}: cancelled by the assistant on order KC-10001"]
    assert "Refund due: £34.95." in inbox.messages[1].get_payload(decode=True).decode()


def test_a_mail_failure_is_logged_and_loses_neither_the_case_nor_the_answer(shop, clock, orders, caplog):
    down = Mailer(SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, timeout=5))
    with caplog.at_level(logging.ERROR):
        texts = finish(shop, clock, orders, down, problem("KC-10004", "chris.evans@example.com", "wrong_item",
                                                          "refund"))
    [case] = CaseBook(orders.engine).list()
    assert texts[0].startswith(f"Thank you. I've opened case {case.number}")
    assert f"Case {case.number} is stored, but the email to the owner failed" in caplog.text
    assert [h.what for h in CaseBook(orders.engine).get(case.id).history] == ["Opened by the assistant"]


def test_without_smtp_the_case_is_stored_and_nothing_is_sent(shop, clock, orders, caplog):
    off = Mailer(SmtpSettings())
    with caplog.at_level(logging.WARNING):
        finish(shop, clock, orders, off,
               problem("KC-10004", "chris.evans@example.com", "damaged_item", "refund"))
    assert CaseBook(orders.engine).count_open() == 1 and "SMTP_HOST is not set" in caplog.text


def test_a_case_that_needs_a_person_is_a_ticket_in_the_inbox_linked_to_the_case(shop, clock, orders, smtp):
    mailer, inbox = smtp
    texts = finish(shop, clock, orders, mailer, problem("KC-10004", "chris.evans@example.com", "damaged_item",
                                                        "person"))
    [case] = CaseBook(orders.engine).list()
    queue = HandoffQueue(orders.engine, clock)
    [ticket] = queue.inbox("tickets", owner_id=0)
    assert (ticket.case_id, ticket.reason, ticket.contact_email) == (
        case.id, "order_case", "chris.evans@example.com")
    assert queue.counts(0)["tickets"] == 1 and case.handoff_id == ticket.id
    assert "The team will reply by email to chris.evans@example.com" in texts[0]
    # the owner hears of both: the ticket (reply by ...) and the case (what happened, the photo)
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert subjects == [f"New case {case.number}: damaged item on order KC-10004",
                        "New ticket from the chat (chris.evans@example.com)"]
    with orders.engine.connect() as connection:
        assert connection.execute(select(t.handoffs.c.case_id)).scalars().all() == [case.id]


def test_the_console_link_follows_the_web_servers_settings():
    assert console_url_from({}) == "http://127.0.0.1:5005/console"
    assert console_url_from({"BOT_HOST": "0.0.0.0", "BOT_PORT": "8080"}) == "http://0.0.0.0:8080/console"
    assert console_url_from({"PUBLIC_URL": "https://help.example.com/"}) == "https://help.example.com/console"


def test_a_complaint_without_an_order_reads_plainly(shop, orders):
    number = orders.open_case("complaint", None, "", "Nobody answers the phone", "c1",
                              contact="jo@example.com")
    subject, body = case_email(CaseBook(orders.engine).by_number(number), "https://x.example/console/")
    assert subject == f"New case {number}: complaint"
    assert body.startswith("Complaint. Customer: jo@example.com.\n")
    assert "https://x.example/console/cases/" in body
