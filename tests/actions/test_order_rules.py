"""The shop's order rules with a fixed clock: late? cancellable? changeable? inside the return window?"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from actions.services.order_rules import (
    Order,
    OrderLine,
    Shipment,
    add_working_days,
    can_cancel,
    can_change,
    can_return,
    expected_delivery,
    is_late,
)
from tests.conftest import shop_time

STANDARD = "Standard (Royal Mail 2nd Class)"


def make_order(shop, status="paid", placed="2026-11-16 10:00", shipped=None, delivered=None,
               option=STANDARD) -> Order:
    shipment = Shipment("Royal Mail", "RM1", None, shop_time(shop, shipped),
                        shop_time(shop, delivered) if delivered else None) if shipped else None
    return Order("KC-10001", "a@example.com", None, "A", status, shop_time(shop, placed), option, "1 Road",
                 Decimal("20"), "GBP", (OrderLine("Ceramic Mug", 1, Decimal("12")),), shipment)


def test_working_days_skip_the_weekend():
    friday = dt.date(2026, 11, 20)
    assert add_working_days(friday, 1) == dt.date(2026, 11, 23)  # Monday
    assert add_working_days(friday, 4) == dt.date(2026, 11, 26)


def test_expected_delivery_counts_from_dispatch_with_the_options_longest_promise(shop):
    # Standard is 2–4 working days: shipped Thursday 19th -> by Wednesday 25th.
    order = make_order(shop, "shipped", shipped="2026-11-19 15:00")
    assert expected_delivery(order, shop) == dt.date(2026, 11, 25)
    assert not is_late(order, shop, shop_time(shop, "2026-11-25 20:00"))
    assert is_late(order, shop, shop_time(shop, "2026-11-26 08:00"))


def test_unshipped_order_counts_from_the_order_date_and_delivered_is_never_late(shop):
    paid = make_order(shop, "paid", placed="2026-11-16 10:00", option="Express (DPD next working day)")
    assert expected_delivery(paid, shop) == dt.date(2026, 11, 17)
    assert is_late(paid, shop, shop_time(shop, "2026-11-18 09:00"))
    delivered = make_order(shop, "delivered", shipped="2026-11-01 10:00", delivered="2026-11-20 10:00")
    assert not is_late(delivered, shop, shop_time(shop, "2026-12-20 10:00"))


def test_unknown_shipping_option_counts_as_the_slowest(shop):
    imported = make_order(shop, "shipped", shipped="2026-11-19 15:00", option="Carrier pigeon")
    assert expected_delivery(imported, shop) == dt.date(2026, 11, 25)


@pytest.mark.parametrize("status,until,allowed,reason", [
    ("paid", "shipped", True, ""),
    ("packed", "shipped", True, ""),
    ("packed", "packed", False, "packed"),
    ("shipped", "shipped", False, "shipped"),
    ("delivered", "shipped", False, "delivered"),
    ("cancelled", "shipped", False, "already_cancelled"),
    ("refunded", "shipped", False, "already_refunded"),
])
def test_cancellable_until_the_shops_limit(shop, status, until, allowed, reason):
    decision = can_cancel(make_order(shop, status), dataclasses.replace(shop, cancellable_until=until))
    assert (decision.allowed, decision.reason) == (allowed, reason)


@pytest.mark.parametrize("status,allowed", [("paid", True), ("packed", False), ("shipped", False),
                                            ("cancelled", False)])
def test_changes_only_before_packing(shop, status, allowed):
    assert can_change(make_order(shop, status)).allowed is allowed


def test_return_window_counts_from_delivery_in_the_shops_days(shop):
    order = make_order(shop, "delivered", shipped="2026-10-20 10:00", delivered="2026-10-22 16:00")
    last_day = shop_time(shop, "2026-11-21 23:30")  # 30 days after 22 October
    assert can_return(order, shop, last_day).allowed
    assert can_return(order, shop, last_day).deadline == dt.date(2026, 11, 21)
    late = can_return(order, shop, shop_time(shop, "2026-11-22 00:30"))
    assert (late.allowed, late.reason) == (False, "window_passed")


def test_return_needs_a_delivered_order(shop):
    shipped = make_order(shop, "shipped", shipped="2026-11-19 10:00")
    assert can_return(shipped, shop, shop_time(shop, "2026-11-20 10:00")).reason == "not_delivered"
    cancelled = make_order(shop, "cancelled")
    assert can_return(cancelled, shop, shop_time(shop, "2026-11-20 10:00")).reason == "already_cancelled"
