"""OrderService on a real database (SQLite file and the local PostgreSQL): verification, writes, audit."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from actions.services import order_tables as t
from actions.services.demo_orders import demo_orders, seed_demo_orders
from actions.services.migrations import MIGRATIONS, migrate
from actions.services.order_check_limits import (
    GLOBAL_PER_HOUR,
    PER_CLIENT_PER_HOUR,
    PER_ORDER_PER_HOUR,
    OrderCheckLimits,
)
from actions.services.orders import OrderService, contact_matches, phone_digits
from tests.conftest import fixed_clock, migrated_engine, prove, shop_time


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The project's tables, migrated, on a SQLite file and on the local PostgreSQL."""
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def now(shop):
    return shop_time(shop, "2026-11-23 10:00")


@pytest.fixture
def service(engine, shop, now):
    orders = OrderService(engine, shop, fixed_clock(now))
    assert seed_demo_orders(orders) == len(demo_orders(now))
    return orders


def rows(engine, table, **where):
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def test_migrations_run_once_and_are_recorded(engine):
    assert migrate(engine) == []  # the fixture already applied them
    versions = [r["version"] for r in rows(engine, t.schema_migrations)]
    assert versions == [m.version for m in MIGRATIONS]


def test_seeding_happens_once(service):
    assert seed_demo_orders(service) == 0
    assert service.count_orders() == 9


def test_verification_needs_the_email_or_phone_on_the_order(service):
    assert service.verify("KC-10001", "Alex.Morgan@Example.com").number == "KC-10001"
    assert service.verify("KC-10001", "07700 900101").number == "KC-10001"
    assert service.verify("KC-10001", "+44 7700 900101").number == "KC-10001"
    assert service.verify("KC-10001", "sam.patel@example.com") is None  # another customer's email
    assert service.verify("KC-99999", "alex.morgan@example.com") is None  # no such order: same answer
    assert service.verify("KC-10003", "07700 900101") is None  # order without a phone


def test_phone_numbers_compare_in_one_form():
    assert phone_digits("07700 900101") == phone_digits("+44 (0)7700-900101".replace("(0)", "")) \
        == phone_digits("0044 7700 900101") == "447700900101"


def test_short_digit_strings_never_match(service):
    order = service.get("KC-10001")
    assert not contact_matches(order, "101") and not contact_matches(order, "")


def test_three_failures_lock_this_conversation_only(service):
    assert [service.record_failure("conv-a") for _ in range(3)] == [1, 2, 3]
    assert service.is_locked("conv-a") and not service.is_locked("conv-b")
    audit = rows(service.engine, t.audit_log, action="verification_failed", conversation_id="conv-a")
    assert len(audit) == 3
    locked = rows(service.engine, t.verification_attempts, conversation_id="conv-a")[0]
    assert locked["locked_at"] is not None


def test_cancel_commits_with_an_audit_row_and_twice_does_not_cancel_twice(service):
    prove(service, "conv-1", "KC-10001")
    first = service.cancel("KC-10001", "conv-1")
    assert first.done and first.order.status == "cancelled"
    second = service.cancel("KC-10001", "conv-1")
    assert (second.done, second.reason) == (False, "already_cancelled")
    audit = rows(service.engine, t.audit_log, conversation_id="conv-1")
    # the check that proved the order, then the cancellation, which is a case too
    assert [r["action"] for r in audit] == ["verified", "cancel_order", "open_case"]
    assert [r["category"] for r in rows(service.engine, t.cases)] == ["cancellation"]


def test_shipped_order_is_not_cancelled(service):
    prove(service, "conv-1", "KC-10003")
    result = service.cancel("KC-10003", "conv-1")
    assert (result.done, result.reason, result.order.status) == (False, "shipped", "shipped")
    assert [r["action"] for r in rows(service.engine, t.audit_log, conversation_id="conv-1")] == ["verified"]


def test_address_change_before_packing_only(service):
    prove(service, "conv-2", "KC-10001", "KC-10002")
    changed = service.change_address("KC-10001", "9 New Street, Bath BA1 1AA", "conv-2")
    assert changed.done and changed.order.shipping_address == "9 New Street, Bath BA1 1AA"
    assert rows(service.engine, t.order_changes, kind="address")[0]["details"] == "9 New Street, Bath BA1 1AA"
    refused = service.change_address("KC-10002", "9 New Street, Bath BA1 1AA", "conv-2")
    assert (refused.done, refused.reason) == (False, "packed")


def test_item_change_is_recorded(service):
    prove(service, "conv-3", "KC-10001")
    result = service.request_item_change("KC-10001", "2 mugs instead of 1", "conv-3")
    assert result.done
    change = rows(service.engine, t.order_changes, kind="items")[0]
    assert change["details"] == "2 mugs instead of 1" and change["conversation_id"] == "conv-3"


def test_return_and_refund_request_inside_the_window(service):
    prove(service, "conv-4", "KC-10004", "KC-10005")
    returned = service.record_return("KC-10004", "1 × Ceramic Mug", "too small", "conv-4")
    assert returned.done
    refund = service.record_return("KC-10004", "Milk Frother", "stopped working", "conv-4", refund=True)
    assert refund.done and [r.status for r in refund.order.refunds] == ["requested"]
    assert len(rows(service.engine, t.returns)) == 2
    outside = service.record_return("KC-10005", "Travel Tumbler", "changed my mind", "conv-4")
    assert (outside.done, outside.reason) == (False, "window_passed")


def test_case_numbers_are_unique_and_recorded(service):
    first = service.open_case("damaged", "KC-10004", "Ceramic Mug", "handle snapped", "conv-5",
                              remedy="replacement")
    second = service.open_case("missing", None, "", "parcel never came", "conv-6")
    assert first != second and first.startswith("C-") and second.startswith("C-")
    case = rows(service.engine, t.cases, number=first)[0]
    assert (case["category"], case["remedy"], case["status"]) == ("damaged", "replacement", "open")
    assert case["order_id"] is not None


def test_upsert_replaces_lines_and_keeps_what_the_bot_recorded(service, now):
    prove(service, "conv-7", "KC-10004")
    service.record_return("KC-10004", "Milk Frother", "broken", "conv-7", refund=True)
    original = demo_orders(now)[3]
    service.upsert_orders([original], source="shopify")
    again = service.get("KC-10004")
    assert len(again.lines) == 2 and len(again.refunds) == 1
    with service.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.order_lines)).scalar() == sum(
            len(o.lines) for o in demo_orders(now))


def test_demo_orders_cover_every_state(now):
    assert {o.status for o in demo_orders(now)} == set(t.ORDER_STATUSES)
    assert len({o.number for o in demo_orders(now)}) == len(demo_orders(now))
    assert all(o.placed_at <= now and o.placed_at.tzinfo is not None for o in demo_orders(now))
    assert dt.timedelta(0) < now - demo_orders(now)[0].placed_at < dt.timedelta(days=1)


def test_failed_checks_count_per_order_per_client_and_overall_for_an_hour(engine, now):
    """Issue 13: shared by every process through the database; older rows count for nothing."""
    moment = [now]
    limits = OrderCheckLimits(engine, lambda: moment[0])
    for i in range(PER_ORDER_PER_HOUR):
        assert limits.reached("KC-10001") is None
        limits.record_failure(f"c-{i}", "KC-10001")
    assert limits.reached("KC-10001") == "order"
    assert limits.reached("KC-10002") is None
    moment[0] = now + dt.timedelta(minutes=61)  # the hour has passed
    assert limits.reached("KC-10001") is None

    key = "0123456789abcdef"
    for i in range(PER_CLIENT_PER_HOUR):
        limits.record_failure(f"k-{i}", f"KC-3{i:04d}", key)
    assert limits.reached("KC-10002", key) == "client"
    assert limits.reached("KC-10002", "fedcba9876543210") is None
    assert limits.reached("KC-10002") is None

    for i in range(GLOBAL_PER_HOUR - PER_CLIENT_PER_HOUR):
        limits.record_failure(f"g-{i}", f"KC-4{i:04d}")
    assert limits.reached("KC-10002") == "global"

    moment[0] = now + dt.timedelta(days=1, minutes=30)  # over a day after the first five: deleted
    limits.record_failure("late", "KC-10001")
    assert len(rows(engine, t.failed_order_checks, order_number="KC-10001")) == 1
    assert len(rows(engine, t.failed_order_checks)) == 1 + GLOBAL_PER_HOUR  # the later ones are kept


def test_the_same_customer_message_again_writes_nothing_twice(service):
    """Issue 13: the web process died after a cancellation was written and before its answer was stored;
    the message comes again with its id, and finds what it did, not "already cancelled"."""
    prove(service, "conv-8", "KC-10001", "KC-10004")
    first = service.cancel("KC-10001", "conv-8", message_id="msg-0001")
    again = service.cancel("KC-10001", "conv-8", message_id="msg-0001")
    assert (first.done, first.again, again.done, again.again) == (True, False, True, True)
    assert again.reference == first.reference and again.order.status == "cancelled"
    other = service.cancel("KC-10001", "conv-8", message_id="msg-0002")  # a new message: the rule answers
    assert (other.done, other.reason) == (False, "already_cancelled")
    for _ in range(2):
        service.record_return("KC-10004", "Milk Frother", "broken", "conv-8", refund=True,
                              message_id="msg-0003")
        case = service.open_case("damaged", "KC-10004", "Ceramic Mug", "cracked", "conv-8",
                                 message_id="msg-0004")
    assert len(rows(service.engine, t.returns)) == 1
    assert len(rows(service.engine, t.refunds, conversation_id="conv-8")) == 1
    assert [c["number"] for c in rows(service.engine, t.cases, category="damaged")] == [case]
    assert [r["action"] for r in rows(service.engine, t.audit_log, conversation_id="conv-8")].count(
        "cancel_order") == 1
