"""Orders as records, and the shop's rules about them: late? cancellable? changeable? returnable?

Plain functions of an order, the shop profile and a clock: no database, no Rasa, so every rule is
tested with a fixed "now".
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional, Tuple

from actions.services.shop_profile import ShippingOption, ShopProfile

STATUS_WORDS = {
    "paid": "received and paid; we haven't packed it yet",
    "packed": "packed and waiting for the courier",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "refunded": "refunded",
}
OPEN_STATUSES = ("paid", "packed", "shipped")


@dataclass(frozen=True)
class OrderLine:
    product: str
    quantity: int
    unit_price: Decimal
    sku: Optional[str] = None


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: Optional[str]
    tracking_url: Optional[str]
    shipped_at: dt.datetime           # aware, UTC
    delivered_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class Refund:
    status: str                        # requested, approved, paid, rejected
    amount: Optional[Decimal]
    reason: str
    requested_at: dt.datetime
    processed_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class Order:
    number: str
    email: str
    phone: Optional[str]
    customer_name: str
    status: str
    placed_at: dt.datetime            # aware, UTC
    shipping_option: str
    shipping_address: str
    total: Decimal
    currency: str
    lines: Tuple[OrderLine, ...] = ()
    shipment: Optional[Shipment] = None
    refunds: Tuple[Refund, ...] = field(default=())

    def items_text(self) -> str:
        return ", ".join(f"{line.quantity} × {line.product}" for line in self.lines)


@dataclass(frozen=True)
class Decision:
    """Whether the rule allows it; if not, why (a code the replies turn into words)."""

    allowed: bool
    reason: str = ""
    deadline: Optional[dt.date] = None


def add_working_days(day: dt.date, days: int) -> dt.date:
    """``days`` working days (Mon–Fri) after ``day``."""
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def shipping_option(shop: ShopProfile, name: str) -> ShippingOption:
    """The order's option by name; an unknown name (an imported order) counts as the slowest option."""
    for option in shop.shipping_options:
        if option.name.lower() == name.lower():
            return option
    return max(shop.shipping_options, key=lambda o: o.days_max)


def local_date(moment: dt.datetime, shop: ShopProfile) -> dt.date:
    return moment.astimezone(shop.timezone).date()


def expected_delivery(order: Order, shop: ShopProfile) -> Optional[dt.date]:
    """The latest day the shipping option promises, counted from dispatch (or from the order date)."""
    if order.status not in OPEN_STATUSES and order.status != "delivered":
        return None
    start = order.shipment.shipped_at if order.shipment else order.placed_at
    return add_working_days(local_date(start, shop), shipping_option(shop, order.shipping_option).days_max)


def is_late(order: Order, shop: ShopProfile, now: dt.datetime) -> bool:
    expected = expected_delivery(order, shop)
    return order.status in OPEN_STATUSES and expected is not None and local_date(now, shop) > expected


def can_cancel(order: Order, shop: ShopProfile) -> Decision:
    if order.status in ("cancelled", "refunded"):
        return Decision(False, "already_" + order.status)
    if order.status == "paid" or (order.status == "packed" and shop.cancellable_until == "shipped"):
        return Decision(True)
    return Decision(False, order.status)  # packed (when the shop stops at packing), shipped, delivered


def can_change(order: Order) -> Decision:
    """Items and address can change only while nobody has packed the order."""
    if order.status == "paid":
        return Decision(True)
    return Decision(False, order.status)


def can_return(order: Order, shop: ShopProfile, now: dt.datetime) -> Decision:
    """Inside the return window, counted in days from delivery."""
    if order.status in ("cancelled", "refunded"):
        return Decision(False, "already_" + order.status)
    delivered = order.shipment.delivered_at if order.shipment else None
    if order.status != "delivered" or delivered is None:
        return Decision(False, "not_delivered")
    deadline = local_date(delivered, shop) + dt.timedelta(days=shop.return_window_days)
    if local_date(now, shop) > deadline:
        return Decision(False, "window_passed", deadline)
    return Decision(True, deadline=deadline)
