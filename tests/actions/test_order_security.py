"""Issue 13: the action server was called directly with slots saying an order was verified; it cancelled
KC-10482, opened a case on KC-10004 answering with the customer's email, and showed KC-10009's items and
tracking. Slots prove nothing: only a check of number + email or phone in *this* conversation does, and it
is kept in the database, where every order action and every write looks for it."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.order_answers import ActionFinishOrderTask
from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.migrations import migrate
from actions.services.orders import NotVerified, OrderService
from actions.services.shared_secret import load_or_create_secret, secret_matches
from tests.conftest import fixed_clock, prove, shop_time


@pytest.fixture
def orders(tmp_path, shop):
    service = OrderService(create_database_engine(f"sqlite:///{tmp_path}/orders.db"), shop,
                           fixed_clock(shop_time(shop, "2026-11-23 10:00")))
    migrate(service.engine)
    seed_demo_orders(service)
    return service


def forged(task: str, number: str, **slots: Any) -> Tracker:
    """What an attacker sent: no check in this conversation, only slots that say there was one."""
    message = {"text": "yes", "intent": {"name": "affirm"}, "entities": []}
    return Tracker("attacker-1", {"order_task": task, "order_id": number, "verified_order": number,
                                  "order_confirmed": True, **slots}, message, [], False, None, {},
                   "action_listen")


def finish(orders: OrderService, tracker: Tracker) -> List[str]:
    dispatcher = CollectingDispatcher()
    action = ActionFinishOrderTask(shop=orders.shop, clock=orders.clock, orders=orders)
    asyncio.run(action.run(dispatcher, tracker, {}))
    return [m.get("text") or "" for m in dispatcher.messages]


def audit(orders: OrderService) -> List[Dict[str, Any]]:
    with orders.engine.connect() as connection:
        return [dict(r) for r in connection.execute(t.audit_log.select()).mappings()]


def test_a_forged_cancellation_cancels_nothing(orders):
    said = " ".join(finish(orders, forged("cancel_order", "KC-10001")))
    assert orders.get("KC-10001").status == "paid" and "cancelled" not in said
    assert "just tell me its number" in said  # as if no order had been given
    assert audit(orders) == []


@pytest.mark.parametrize("task, number, secret", [
    ("order_status", "KC-10003", "RM123456785GB"),
    ("order_status", "KC-10003", "Ethiopia"),
    ("damaged_item", "KC-10004", "chris.evans@example.com"),
    ("refund_status", "KC-10009", "£"),
])
def test_forged_slots_show_nothing_of_the_order(orders, task, number, secret):
    said = " ".join(finish(orders, forged(task, number, order_details="Ceramic Mug", order_reason="broken",
                                          order_remedy="person")))
    assert secret not in said and number not in said
    with orders.engine.connect() as connection:
        assert connection.execute(t.cases.select()).first() is None


def test_an_order_proved_in_another_conversation_is_not_this_ones(orders):
    prove(orders, "customer-1", "KC-10001")
    said = " ".join(finish(orders, forged("cancel_order", "KC-10001")))
    assert orders.get("KC-10001").status == "paid" and "cancelled" not in said
    assert orders.verified_order("customer-1", "KC-10001") is not None
    assert orders.verified_order("attacker-1", "KC-10001") is None


def test_every_write_refuses_a_conversation_that_proved_nothing(orders):
    for write in (lambda: orders.cancel("KC-10001", "attacker-1"),
                  lambda: orders.change_address("KC-10001", "1 Evil Road, AB1 2CD", "attacker-1"),
                  lambda: orders.request_item_change("KC-10001", "10 mugs", "attacker-1"),
                  lambda: orders.record_return("KC-10004", "Milk Frother", "x", "attacker-1", refund=True)):
        with pytest.raises(NotVerified):
            write()
    assert orders.get("KC-10001").status == "paid" and audit(orders) == []
    with orders.engine.connect() as connection:
        assert connection.execute(t.returns.select()).first() is None
        assert connection.execute(t.order_changes.select()).first() is None


def test_a_wrong_contact_proves_nothing_and_a_right_one_is_remembered_once(orders):
    assert orders.verify("KC-10001", "someone@example.com", "c-1") is None
    assert orders.verified_order("c-1", "KC-10001") is None
    for _ in range(2):
        assert orders.verify("KC-10001", "alex.morgan@example.com", "c-1") is not None
    assert orders.verified_order("c-1", "KC-10001").number == "KC-10001"
    assert [r["action"] for r in audit(orders)] == ["verified"]


def test_both_processes_get_the_same_generated_secret(tmp_path: Path):
    path = tmp_path / "var" / "action.secret"
    found: List[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(load_or_create_secret(None, path)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and len(found[0]) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["action.secret"]  # nothing left aside
    assert load_or_create_secret("given", path) == b"given"


@pytest.mark.parametrize("given, matches", [("s3cret", True), ("s3cre", False), ("", False), (None, False),
                                            ("é\udcff", False)])
def test_the_secret_is_compared_whatever_is_sent(given, matches):
    assert secret_matches(given, b"s3cret") is matches
