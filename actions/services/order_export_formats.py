"""What is specific to each platform's orders export CSV: its columns, its statuses, and reading its rows.

Two layouts are recognised by their header row, one row per line item in both:

* **Shopify** – Admin › Orders › Export ("CSV for Excel, Numbers, or other spreadsheet programs").
  Columns as Shopify names them (``Name``, ``Email``, ``Financial Status``, ``Fulfillment Status``,
  ``Fulfilled at``, ``Created at``, ``Total``, ``Currency``, ``Shipping Method``, ``Lineitem quantity``,
  ``Lineitem name``, ``Lineitem price``, ``Lineitem sku``, ``Shipping Name``, ``Shipping Address1`` …,
  ``Cancelled at``). Order-level columns are filled only on an order's first row; later rows of the
  same order may leave them blank. Times look like ``2026-03-14 10:22:31 +0000``.
* **WooCommerce** – the "Default - One Row per Item" format of the *Customer / Order / Coupon Export*
  extension (SkyVerge, sold on woocommerce.com; WooCommerce itself has no full orders CSV). Its
  headers are the column keys: ``order_number``, ``date``, ``status``, ``shipping_method``,
  ``billing_email``, ``billing_phone``, ``shipping_first_name`` …, ``order_total``, ``order_currency``,
  ``item_name``, ``item_sku``, ``item_quantity``, ``item_subtotal``, ``item_subtotal_tax`` …. Every row
  repeats the order's columns. ``date`` has no zone: it is the site's local time, read here in
  shop.yml's time zone. ``order_number`` is the number without the prefix that a sequential-order-number
  plugin adds, so bare digits of the shop's length get shop.yml's prefix (``10482`` -> ``KC-10482``).

Statuses become ours (paid, shipped, cancelled, refunded):

* Shopify: ``Cancelled at`` set -> cancelled; Financial Status refunded -> refunded; pending, voided or
  expired (nothing was paid) -> skipped; Fulfillment Status fulfilled -> shipped; anything else -> paid.
  A partially fulfilled order stays "paid": part of it has not left yet.
* WooCommerce: processing, on-hold -> paid; completed (WooCommerce's word for sent) -> shipped;
  cancelled -> cancelled; refunded -> refunded; pending, failed, checkout-draft -> skipped.

Neither export carries a carrier or tracking number, so a fulfilled Shopify order gets a shipment with
carrier "" and no tracking (shipped at ``Fulfilled at``), and a completed WooCommerce order none (the
export has no completion date; the delivery estimate then counts from the order date). Refunds are not
imported as refund records: the exports have no refund dates, and the refunded status says it.

The generic part of the import (reading the file, merging rows into orders, all-or-nothing writing)
is in ``order_import``, which uses this module; this module uses nothing from it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from actions.services.csv_records import column_key
from actions.services.email_address import parse_email
from actions.services.order_rules import OrderLine, Shipment
from actions.services.shop_profile import ShopProfile

FORMAT_LABELS = {"shopify": "Shopify", "woocommerce": "WooCommerce"}

# Only the columns the import reads: a shop that hid other columns in its export still imports.
SHOPIFY_COLUMNS = ("Name", "Email", "Financial Status", "Fulfillment Status", "Created at", "Total",
                   "Currency", "Lineitem quantity", "Lineitem name", "Lineitem price")
WOOCOMMERCE_COLUMNS = ("order_number", "date", "status", "billing_email", "order_total", "order_currency",
                       "item_name", "item_quantity", "item_subtotal")

_MONEY = re.compile(r"^\d+(\.\d+)?$")
_CENT = Decimal("0.01")
_UNPAID = "unpaid"  # a status meaning "leave this order out", never stored

SHOPIFY_FINANCIAL = ("pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded",
                     "voided", "expired")
WOOCOMMERCE_STATUSES = {
    "processing": "paid", "on-hold": "paid", "completed": "shipped", "cancelled": "cancelled",
    "refunded": "refunded", "pending": _UNPAID, "failed": _UNPAID, "checkout-draft": _UNPAID,
}


# ---- reading one row's cells ------------------------------------------------------------------------------
# The cell reader and the row it yields (_Cells, _Head, _Row) live here rather than in order_import: the
# row readers below are what use them, and order_import needs this module's tables and readers, so keeping
# them here makes the dependency run one way (order_import -> order_export_formats) with no import cycle.

class _Cells:
    """One row by column name; every reader appends a problem (naming the column) instead of raising."""

    def __init__(self, values: Dict[str, str], shop: ShopProfile) -> None:
        self.values = values
        self.shop = shop
        self.problems: List[str] = []

    def text(self, column: str) -> str:
        # Shopify writes "'" before zip codes and phones so spreadsheets keep leading zeros.
        return self.values.get(column_key(column), "").strip().removeprefix("'").strip()

    def required(self, column: str) -> Optional[str]:
        value = self.text(column)
        if not value:
            self.problems.append(f"{column} is empty")
            return None
        return value

    def _value(self, column: str, required: bool) -> Optional[str]:
        return self.required(column) if required else self.text(column) or None

    def money(self, column: str, required: bool = True) -> Optional[Decimal]:
        value = self._value(column, required)
        if value is None:
            return None
        if not _MONEY.match(value):
            self.problems.append(f"{column} {value!r} is not an amount like 12.50")
            return None
        return Decimal(value)

    def quantity(self, column: str) -> Optional[int]:
        value = self.required(column)
        if value is None:
            return None
        if not value.isdigit() or int(value) < 1:
            self.problems.append(f"{column} {value!r} is not a whole number of at least 1")
            return None
        return int(value)

    def moment(self, column: str, required: bool = False) -> Optional[dt.datetime]:
        value = self._value(column, required)
        if value is None:
            return None
        moment = _parse_moment(value, self.shop)
        if moment is None:
            self.problems.append(f"{column} {value!r} is not a date and time like 2026-03-14 10:22:31 +0000")
        return moment

    def email(self, column: str, required: bool = True) -> Optional[str]:
        value = self._value(column, required)
        if value is not None and parse_email(value) is None:
            self.problems.append(f"{column} {value!r} is not an email address")
            return None
        return value

    def currency(self, column: str, required: bool = True) -> Optional[str]:
        value = self._value(column, required)
        if value is not None and not re.fullmatch(r"[A-Za-z]{3}", value):
            self.problems.append(f"{column} {value!r} is not a 3-letter currency code like GBP")
            return None
        return value.upper() if value else None

    def choice(self, column: str, allowed: Sequence[str], required: bool = True) -> Optional[str]:
        value = self._value(column, required)
        if value is None:
            return None
        value = value.lower()
        if value not in allowed:
            self.problems.append(f"{column} {value!r} is not one of " + ", ".join(allowed))
            return None
        return value

    def joined(self, *columns: str, separator: str = ", ") -> str:
        return separator.join(part for part in (self.text(c) for c in columns) if part)


def _parse_moment(text: str, shop: ShopProfile) -> Optional[dt.datetime]:
    """An aware UTC datetime; a time without a zone is the shop's local time (WooCommerce writes those)."""
    moment: Optional[dt.datetime] = None
    for pattern in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z"):
        try:
            moment = dt.datetime.strptime(text, pattern)
            break
        except ValueError:
            pass
    if moment is None:
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=shop.timezone)
    return moment.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class _Head:
    """The order-level part of a row (None when this row leaves the order's columns blank)."""

    email: str
    phone: Optional[str]
    customer_name: str
    status: str                      # ours, or _UNPAID
    placed_at: dt.datetime
    shipping_option: str
    shipping_address: str
    total: Decimal
    currency: str
    shipment: Optional[Shipment]


@dataclass(frozen=True)
class _Row:
    line: int
    number: Optional[str]
    head: Optional[_Head]
    item: Optional[OrderLine]
    email: Optional[str]             # also read on continuation rows, to catch two orders sharing a number
    problems: Tuple[str, ...]


def _option_name(shop: ShopProfile, name: str) -> str:
    """The shop.yml spelling when the platform's name matches one, so replies name it the shop's way."""
    for option in shop.shipping_options:
        if option.name.lower() == name.lower():
            return option.name
    return name


def _number_problem(raw: str, shop: ShopProfile) -> str:
    return (f"order number {raw!r} does not match shop.yml's order_number "
            f"(like {shop.order_number.example})")


def _shopify_row(cells: _Cells, line: int, first: Callable[[Optional[str]], bool]) -> _Row:
    shop = cells.shop
    raw = cells.required("Name")
    number = shop.order_number.normalise(raw) if raw else None
    if raw and number is None:
        cells.problems.append(_number_problem(raw, shop))
    # Later rows of an order leave the order's columns blank: required only on its first row, but
    # whatever a later row does carry is still checked.
    is_first = first(number)
    email = cells.email("Email", required=is_first)
    financial = cells.choice("Financial Status", SHOPIFY_FINANCIAL, required=is_first)
    placed_at = cells.moment("Created at", required=is_first)
    cancelled_at = cells.moment("Cancelled at")
    fulfilled_at = cells.moment("Fulfilled at")
    total = cells.money("Total", required=is_first)
    currency = cells.currency("Currency", required=is_first)
    head: Optional[_Head] = None
    if is_first and not cells.problems and email and financial and placed_at and total is not None \
            and currency:
        shipment = None
        if cancelled_at:
            status = "cancelled"
        elif financial == "refunded":
            status = "refunded"
        elif financial in ("pending", "voided", "expired"):
            status = _UNPAID
        elif cells.text("Fulfillment Status").lower() == "fulfilled":
            status = "shipped"
            # No carrier or tracking in the export. Without "Fulfilled at", the order date is the earliest
            # it can have left: the lateness check then errs towards "late", never hides a late parcel.
            shipment = Shipment("", None, None, fulfilled_at or placed_at)
        else:
            status = "paid"
        head = _Head(
            email=email,
            phone=cells.text("Shipping Phone") or cells.text("Phone") or cells.text("Billing Phone") or None,
            customer_name=cells.text("Shipping Name") or cells.text("Billing Name"),
            status=status, placed_at=placed_at,
            shipping_option=_option_name(shop, cells.text("Shipping Method")),
            shipping_address=_shopify_address(cells), total=total, currency=currency, shipment=shipment)
    item = None
    name = cells.required("Lineitem name")
    quantity = cells.quantity("Lineitem quantity")
    price = cells.money("Lineitem price")
    if name and quantity and price is not None:
        item = OrderLine(name, quantity, price, cells.text("Lineitem sku") or None)
    return _Row(line, number, head, item, email, tuple(cells.problems))


def _shopify_address(cells: _Cells) -> str:
    # "Shipping Street" is Address1 and Address2 together; older exports have only that column.
    street = cells.joined("Shipping Address1", "Shipping Address2") or cells.text("Shipping Street")
    place = cells.joined("Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country")
    return ", ".join(part for part in (street, place) if part)


def _woocommerce_row(cells: _Cells, line: int, _first: Callable[[Optional[str]], bool]) -> _Row:
    shop = cells.shop
    raw = cells.required("order_number")
    number = None
    if raw:
        text = raw
        if text.isdigit() and len(text) == shop.order_number.digits:
            text = shop.order_number.prefix + text  # the export's number lacks the plugin's prefix
        number = shop.order_number.normalise(text)
        if number is None:
            cells.problems.append(_number_problem(raw, shop))
    # Every row repeats the order's columns, so every row is checked in full.
    email = cells.email("billing_email")
    raw_status = (cells.required("status") or "").lower().removeprefix("wc-")
    status = WOOCOMMERCE_STATUSES.get(raw_status)
    if raw_status and status is None:
        cells.problems.append(f"status {raw_status!r} is not one of " + ", ".join(WOOCOMMERCE_STATUSES))
    placed_at = cells.moment("date", required=True)
    total = cells.money("order_total")
    currency = cells.currency("order_currency")
    head = None
    if not cells.problems and email and status and placed_at and total is not None and currency:
        head = _Head(
            email=email, phone=cells.text("billing_phone") or None,
            customer_name=cells.joined("shipping_first_name", "shipping_last_name", separator=" ")
            or cells.joined("billing_first_name", "billing_last_name", separator=" "),
            status=status, placed_at=placed_at,
            shipping_option=_option_name(shop, cells.text("shipping_method")),
            shipping_address=cells.joined("shipping_address_1", "shipping_address_2", "shipping_city",
                                          "shipping_postcode", "shipping_state", "shipping_country"),
            total=total, currency=currency, shipment=None)
    item = None
    name, quantity = cells.required("item_name"), cells.quantity("item_quantity")
    subtotal = cells.money("item_subtotal")
    tax = cells.money("item_subtotal_tax", required=False) or Decimal(0)
    if name and quantity and subtotal is not None:
        # The customer's price per item, tax included: what their receipt showed them.
        unit_price = ((subtotal + tax) / quantity).quantize(_CENT, ROUND_HALF_UP)
        sku = cells.text("item_sku")
        item = OrderLine(name, quantity, unit_price, sku if sku and sku != "unknown_product" else None)
    return _Row(line, number, head, item, email, tuple(cells.problems))


_ROW_READERS = {"shopify": _shopify_row, "woocommerce": _woocommerce_row}
