"""A customer who comes back: a new chat proves again, and the welcome back repeats only what the browser's
earlier chat showed (actions/session.py, actions/conversation.py, actions/services/customers/memory.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionGreet
from actions.order_answers import ActionFinishOrderTask
from actions.order_questions import AskOrderId
from actions.services.customers.memory import ShownOrder, first_name, when
from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.migrations import migrate
from actions.services.orders import OrderService
from actions.session import ActionSessionStart
from tests.conftest import fixed_clock, prove, shop_time

SHOWN = {"number": "KC-10003", "status": "shipped", "day": "2026-11-22", "first_name": "Jo", "topic": "order"}


@pytest.fixture
def clock(shop):
    return fixed_clock(shop_time(shop, "2026-11-24 10:00"))  # a Tuesday


@pytest.fixture
def orders(tmp_path, shop, clock):
    service = OrderService(create_database_engine(f"sqlite:///{tmp_path}/orders.db"), shop, clock)
    migrate(service.engine)
    seed_demo_orders(service)
    return service


def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, events


def tracker(
    slots: Dict[str, Any], events: List[Dict[str, Any]], intent: str = "greet", text: str = "hi again!"
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": []}
    return Tracker(
        "browser-1",
        slots,
        message,
        [*events, {"event": "user", "text": text, "parse_data": message}],
        False,
        None,
        None,
        "action_listen",
    )


EARLIER_CHAT = [
    {"event": "session_started"},
    {"event": "user", "text": "where is my order?"},
    {"event": "bot", "text": "Order KC-10003 is on its way."},
]


def test_first_names_come_only_from_a_plain_name():
    assert [
        first_name(n) for n in ("Jo Baker", "alex morgan", "Zoë Brontë", "Anne-Marie Duff", "O'Neil Tam")
    ] == ["Jo", "Alex", "Zoë", "Anne-Marie", "O'Neil"]
    assert [first_name(n) for n in ("", "Mr Smith", "J. Smith", "R2D2", "jo@example.com", "<b>Jo</b>")] == [
        "",
        "",
        "",
        "",
        "",
        "",
    ]


def test_the_day_of_a_status_is_said_as_a_customer_would():
    today = dt.date(2026, 11, 24)
    assert [when(today - dt.timedelta(days=d), today) for d in (0, 1, 2, 6, 7)] == [
        "today",
        "yesterday",
        "on Sunday",
        "on Wednesday",
        "on 17 November",
    ]


def test_a_forged_or_broken_memory_is_ignored():
    for value in (
        None,
        "KC-10003",
        {"number": "KC-10003"},
        {**SHOWN, "status": "lost"},
        {**SHOWN, "number": "<script>"},
        {**SHOWN, "day": "yesterday"},
        {**SHOWN, "first_name": "<i>"},
    ):
        assert ShownOrder.from_slot(value) is None, value
    assert ShownOrder.from_slot(SHOWN) == ShownOrder("KC-10003", "shipped", dt.date(2026, 11, 22), "Jo")


def test_a_new_chat_forgets_the_proof_and_carries_only_what_was_shown(shop, clock, orders, domain):
    prove(orders, "browser-1", "KC-10003")
    session = ActionSessionStart(shop=shop, clock=clock, orders=orders)
    earlier = tracker(
        {
            "shown_order": SHOWN,
            "verified_order": "KC-10003",
            "order_contact": "jo.baker@example.com",
            "ticket_email": "jo.baker@example.com",
        },
        EARLIER_CHAT,
    )

    messages, events = run(session, earlier, domain)

    assert messages == []
    assert [e["event"] for e in events] == ["session_started", "slot", "slot", "action"]
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"} == {
        "returning_visitor": True,
        "shown_order": SHOWN,
    }
    assert orders.verified_order("browser-1", "KC-10003") is None  # shown again only after a new proof


def test_the_first_chat_of_a_browser_starts_plainly(shop, clock, orders, domain):
    prove(orders, "browser-1", "KC-10003")  # (not possible before a first chat: shows nothing is touched)
    _, events = run(
        ActionSessionStart(shop=shop, clock=clock, orders=orders),
        Tracker("browser-1", {}, {}, [], False, None, None, None),
        domain,
    )
    assert [e["event"] for e in events] == ["session_started", "action"]
    assert orders.verified_order("browser-1", "KC-10003") is not None


def test_a_returning_visitor_is_welcomed_back_with_the_order_as_it_was_shown(shop, clock, domain):
    messages, _ = run(
        ActionGreet(shop=shop, clock=clock),
        # the web server's tracker still holds the earlier chat, the bot's words in it too
        tracker(
            {"returning_visitor": True, "shown_order": SHOWN}, [*EARLIER_CHAT, {"event": "session_started"}]
        ),
        domain,
    )
    assert messages[0]["text"] == "Welcome back, Jo! Is this about your order KC-10003, shipped on Sunday?"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/order_status{"order_id": "KC-10003"}',
        "/help",
    ]


def test_a_returning_visitor_who_was_shown_no_order_gets_a_plain_welcome_back(shop, clock, domain):
    messages, _ = run(
        ActionGreet(shop=shop, clock=clock),
        tracker({"returning_visitor": True}, [{"event": "session_started"}]),
        domain,
    )
    assert messages[0]["text"] == "Welcome back! What can I help you with today?"
    # "hi" again later in the same chat is the ordinary greeting
    messages, _ = run(
        ActionGreet(shop=shop, clock=clock),
        tracker(
            {"returning_visitor": True, "shown_order": SHOWN},
            [{"event": "session_started"}, {"event": "bot", "text": "Welcome back!"}],
        ),
        domain,
    )
    assert messages[0]["text"].startswith("Hi, welcome to Kettle & Crumb!")


def test_showing_an_order_remembers_it_as_shown_and_the_next_chat_offers_it(shop, clock, orders, domain):
    finish = ActionFinishOrderTask(shop=shop, clock=clock, orders=orders)
    prove(orders, "browser-1", "KC-10003")
    status = tracker(
        {"order_task": "order_status", "order_id": "KC-10003", "verified_order": "KC-10003"},
        [],
        intent="inform",
        text="jo.baker@example.com",
    )
    _, events = run(finish, status, domain)
    shown = {e["name"]: e["value"] for e in events if e["event"] == "slot"}["shown_order"]
    assert shown == {
        "number": "KC-10003",
        "status": "shipped",
        "day": "2026-11-23",
        "first_name": "Jo",
        "topic": "order",
    }

    messages, _ = run(
        AskOrderId(shop=shop, clock=clock, orders=orders),
        tracker(
            {"order_task": "order_status", "shown_order": shown},
            [],
            intent="order_status",
            text="where is my order?",
        ),
        domain,
    )
    assert "Is it KC-10003, the one you asked about last time?" in messages[0]["text"]
    assert messages[0]["buttons"] == [{"title": "KC-10003", "payload": '/inform{"order_id": "KC-10003"}'}]


def test_an_order_not_proved_is_never_remembered(shop, clock, orders, domain):
    finish = ActionFinishOrderTask(shop=shop, clock=clock, orders=orders)
    forged = tracker(
        {"order_task": "order_status", "order_id": "KC-10003", "verified_order": "KC-10003"},
        [],
        intent="inform",
        text="x",
    )
    _, events = run(finish, forged, domain)
    assert "shown_order" not in {e["name"] for e in events if e["event"] == "slot"}


def test_a_customer_who_comes_back_is_asked_for_a_rating_again_once_per_chat(shop, orders, domain):
    from actions.feedback import FeedbackAware
    from actions.services.feedback import Context, FeedbackStore

    day_one = shop_time(shop, "2026-11-23 10:00")
    FeedbackStore(orders.engine, clock=fixed_clock(day_one)).record("csat", Context("browser-1"), score=4)
    rater = FeedbackAware(shop=shop, clock=fixed_clock(day_one), orders=orders)

    def chat_from(moment: dt.datetime) -> Tracker:
        return tracker(
            {}, [{"event": "session_started", "timestamp": moment.timestamp()}], "thank_you", "thanks"
        )

    assert not rater.rating_due(chat_from(day_one - dt.timedelta(minutes=5)))  # rated in this chat
    assert rater.rating_due(chat_from(day_one + dt.timedelta(days=1)))  # the next day's chat


def test_a_refund_asked_about_is_what_the_welcome_back_offers_to_check(shop, clock, orders, domain):
    finish = ActionFinishOrderTask(shop=shop, clock=clock, orders=orders)
    prove(orders, "browser-1", "KC-10009")
    asked = tracker(
        {"order_task": "refund_status", "order_id": "KC-10009", "verified_order": "KC-10009"},
        [],
        intent="inform",
        text="ria.shah@example.com",
    )
    _, events = run(finish, asked, domain)
    shown = {e["name"]: e["value"] for e in events if e["event"] == "slot"}["shown_order"]
    assert (shown["number"], shown["topic"], shown["first_name"]) == ("KC-10009", "refund", "Ria")

    messages, _ = run(
        ActionGreet(shop=shop, clock=clock),
        tracker({"returning_visitor": True, "shown_order": shown}, [{"event": "session_started"}]),
        domain,
    )
    assert messages[0]["text"] == "Welcome back, Ria! Is this about the refund on your order KC-10009?"
    assert messages[0]["buttons"][0]["payload"] == '/refund_status{"order_id": "KC-10009"}'
