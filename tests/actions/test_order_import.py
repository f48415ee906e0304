"""Importing Shopify and WooCommerce orders exports: parsing, all-or-nothing import, and the CLI."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from actions.services.order_import import (
    SHOPIFY_COLUMNS,
    WOOCOMMERCE_COLUMNS,
    OrderImportError,
    UnknownFormatError,
    detect_format,
    import_orders_file,
    parse_orders_csv,
)
from actions.services.order_rules import OrderLine
from actions.services.orders import OrderService
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "orders"
SHOPIFY = FIXTURES / "shopify_orders.csv"
WOOCOMMERCE = FIXTURES / "woocommerce_orders.csv"
MALFORMED = FIXTURES / "shopify_malformed.csv"
UTC = dt.timezone.utc


def parse(path: Path, shop):
    return parse_orders_csv(path.read_text(encoding="utf-8"), shop)


@pytest.fixture
def service(tmp_path, shop):
    engine = create_database_engine(f"sqlite:///{tmp_path}/t.db")
    migrate(engine)
    yield OrderService(engine, shop)
    engine.dispose()


# ---- detecting the layout ----

def test_detect_format_by_header():
    assert detect_format(list(SHOPIFY_COLUMNS) + ["Tags", "Source"]) == "shopify"
    assert detect_format(["order_id"] + list(WOOCOMMERCE_COLUMNS)) == "woocommerce"
    assert detect_format([c.upper() for c in SHOPIFY_COLUMNS]) == "shopify"


def test_unknown_header_names_the_expected_columns():
    with pytest.raises(UnknownFormatError) as raised:
        detect_format(["Name", "Email", "Total", "Notes"])
    message = str(raised.value)
    assert "Lineitem quantity" in message and "order_number" in message
    assert "as a Shopify export it lacks Financial Status" in message


# ---- parsing ----

def test_shopify_export_parses_to_orders(shop):
    result = parse(SHOPIFY, shop)
    assert result.ok and result.format == "shopify"
    orders = {o.number: o for o in result.orders}
    assert list(orders) == ["KC-10482", "KC-10483", "KC-10484", "KC-10485"]
    assert result.skipped == ("KC-10486",)  # financial status pending: not imported

    multi = orders["KC-10482"]  # "#KC-10482", two line-item rows, the second with the order columns blank
    assert multi.email == "mia.jones@example.com" and multi.phone == "+44 7700 900123"
    assert multi.customer_name == "Mia Jones" and multi.status == "paid" and multi.shipment is None
    assert multi.lines == (OrderLine("House Espresso Blend 250 g", 2, Decimal("9.50"), "HEB-250"),
                           OrderLine("Ceramic Mug", 1, Decimal("12.00"), "MUG-01"))
    assert multi.total == Decimal("34.95") and multi.currency == "GBP"
    assert multi.placed_at == dt.datetime(2026, 3, 14, 10, 22, 31, tzinfo=UTC)
    assert multi.shipping_option == "Standard (Royal Mail 2nd Class)"
    assert multi.shipping_address == "Flat 3, 21 Gloucester Road, Bristol, BS7 8AA, GB"

    fulfilled = orders["KC-10483"]
    assert fulfilled.status == "shipped"
    assert fulfilled.placed_at == dt.datetime(2026, 4, 2, 8, 30, tzinfo=UTC)  # +0100 converted to UTC
    assert fulfilled.shipment is not None and fulfilled.shipment.carrier == ""
    assert fulfilled.shipment.tracking_number is None
    assert fulfilled.shipment.shipped_at == dt.datetime(2026, 4, 3, 8, 5, tzinfo=UTC)

    assert orders["KC-10484"].status == "cancelled"   # Cancelled at wins over the financial status
    assert orders["KC-10484"].lines[0].sku is None
    assert orders["KC-10485"].status == "refunded"
    assert orders["KC-10485"].shipment is None


def test_woocommerce_export_parses_to_orders(shop):
    result = parse(WOOCOMMERCE, shop)
    assert result.ok and result.format == "woocommerce"
    orders = {o.number: o for o in result.orders}
    # order_number holds the digits only; shop.yml's prefix is added
    assert list(orders) == ["KC-10501", "KC-10502", "KC-10503", "KC-10504"]
    assert result.skipped == ("KC-10505",)  # pending payment

    multi = orders["KC-10501"]
    assert multi.email == "Priya.Shah@example.com" and multi.phone == "07700 900601"
    assert multi.customer_name == "Priya Shah" and multi.status == "paid"
    # unit price with tax: (item_subtotal + item_subtotal_tax) / quantity
    assert multi.lines == (OrderLine("Colombia Huila 250 g", 2, Decimal("11.40"), "COL-250"),
                           OrderLine("Chemex", 1, Decimal("45.00"), "CHX-6"))
    assert multi.total == Decimal("67.80") and multi.currency == "GBP"
    # "2026-06-20 14:05:00" has no zone: the shop's local time, British Summer Time then
    assert multi.placed_at == dt.datetime(2026, 6, 20, 13, 5, tzinfo=UTC)
    assert multi.shipping_address == "18 Cotham Hill, Bristol, BS6 6LA, GB"

    assert orders["KC-10502"].status == "shipped" and orders["KC-10502"].shipment is None
    assert orders["KC-10502"].shipping_option == "Express (DPD next working day)"
    assert orders["KC-10503"].status == "cancelled"
    assert orders["KC-10503"].lines[0].sku is None   # the exporter's "unknown_product"
    assert orders["KC-10504"].status == "refunded"


def test_malformed_rows_are_reported_with_their_line_numbers(shop):
    result = parse(MALFORMED, shop)
    # line 4-5 is one record (a quoted line break in Notes), so the bad rows are at lines 6 and 8
    assert [e.line for e in result.errors] == [6, 8]
    assert result.errors[0].message == ("order number '#1001' does not match shop.yml's order_number "
                                        "(like KC-10482)")
    assert "Email 'not-an-email' is not an email address" in result.errors[1].message
    assert "Lineitem quantity 'two' is not a whole number" in result.errors[1].message


def test_unknown_header_is_an_error_at_line_1(shop):
    result = parse_orders_csv("Order,Customer,Amount\nKC-10482,mia.jones@example.com,34.95\n", shop)
    assert result.format is None and result.orders == ()
    assert [e.line for e in result.errors] == [1]
    assert parse_orders_csv("", shop).errors[0].line == 1


HEADER = ",".join(SHOPIFY_COLUMNS) + "\n"


def shopify_row(name="#KC-10482", email="mia.jones@example.com", status="paid", fulfillment="unfulfilled",
                created="2026-03-14 10:22:31 +0000", total="9.50", currency="GBP", quantity="1",
                item="Ceramic Mug", price="9.50"):
    cells = [name, email, status, fulfillment, created, total, currency, quantity, item, price]
    return ",".join(cells) + "\n"


@pytest.mark.parametrize("row, problem", [
    (shopify_row(created="14/03/2026"), "Created at '14/03/2026' is not a date and time"),
    (shopify_row(total="-5.00"), "Total '-5.00' is not an amount"),
    (shopify_row(total="NaN"), "Total 'NaN' is not an amount"),
    (shopify_row(price="£9.50"), "Lineitem price '£9.50' is not an amount"),
    (shopify_row(quantity="0"), "Lineitem quantity '0' is not a whole number of at least 1"),
    (shopify_row(currency=""), "Currency is empty"),
    (shopify_row(status="sent"), "Financial Status 'sent' is not one of"),
    (shopify_row(name=""), "Name is empty"),
    (shopify_row() + "#KC-10483,,\n", "has 3 cells but the header has 10 columns"),
])
def test_each_kind_of_bad_row_is_named(shop, row, problem):
    result = parse_orders_csv(HEADER + row, shop)
    assert len(result.errors) == 1 and problem in result.errors[0].message, result.errors


def test_later_rows_may_leave_order_columns_blank_but_not_contradict_them(shop):
    later = shopify_row(email="", status="", fulfillment="", created="", total="", currency="",
                        item="AeroPress")
    result = parse_orders_csv(HEADER + shopify_row() + later, shop)
    assert result.ok and [line.product for line in result.orders[0].lines] == ["Ceramic Mug", "AeroPress"]

    other = shopify_row(email="someone.else@example.com", status="", created="", total="", currency="")
    result = parse_orders_csv(HEADER + shopify_row() + other, shop)
    assert [e.line for e in result.errors] == [3] and "differs from line 2's" in result.errors[0].message

    apart = HEADER + shopify_row() + shopify_row(name="#KC-10483") + shopify_row()
    result = parse_orders_csv(apart, shop)
    assert [e.line for e in result.errors] == [4]
    assert "order KC-10482 already appeared at line 2" in result.errors[0].message


def test_woocommerce_number_of_the_wrong_length_is_rejected(shop):
    header, *rows = WOOCOMMERCE.read_text(encoding="utf-8").splitlines()
    rows[0] = rows[0].replace(",10501,", ",501,", 1)
    result = parse_orders_csv("\n".join([header, *rows]) + "\n", shop)
    assert [e.line for e in result.errors] == [2]
    assert "order number '501' does not match" in result.errors[0].message


# ---- importing into the database ----

@pytest.mark.parametrize("path, fmt, numbers", [
    (SHOPIFY, "shopify", ["KC-10482", "KC-10483", "KC-10484", "KC-10485"]),
    (WOOCOMMERCE, "woocommerce", ["KC-10501", "KC-10502", "KC-10503", "KC-10504"]),
])
def test_import_writes_orders_that_read_back(service, shop, path, fmt, numbers):
    summary = import_orders_file(path, service, shop)
    assert (summary.format, summary.new, summary.updated, summary.skipped) == (fmt, 4, 0, 1)
    assert service.count_orders() == 4
    parsed = {o.number: o for o in parse(path, shop).orders}
    for number in numbers:
        stored = service.get(number)
        assert stored is not None
        expected = parsed[number]
        assert stored.email == expected.email.lower()
        assert (stored.status, stored.total, stored.currency, stored.placed_at) == \
            (expected.status, expected.total, expected.currency, expected.placed_at)
        assert stored.lines == expected.lines and stored.shipment == expected.shipment
    assert service.get(numbers[0]).phone.startswith("447700900")  # type: ignore[union-attr]


def test_reimport_updates_instead_of_duplicating(service, shop):
    import_orders_file(SHOPIFY, service, shop)
    again = import_orders_file(SHOPIFY, service, shop)
    assert (again.new, again.updated) == (0, 4)
    assert again.text() == ("Imported 4 orders from shopify_orders.csv (Shopify): 0 new, 4 updated. "
                            "Skipped 1 unpaid order.")
    assert service.count_orders() == 4
    assert len(service.get("KC-10482").lines) == 2  # type: ignore[union-attr]


def test_malformed_file_imports_nothing(service, shop):
    with pytest.raises(OrderImportError) as raised:
        import_orders_file(MALFORMED, service, shop)
    assert [e.line for e in raised.value.errors] == [6, 8]
    assert service.count_orders() == 0  # KC-10490, KC-10491 and KC-10492 were fine, and still not imported


def test_unknown_header_imports_nothing(service, shop, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("First Name,Last Name,Email\nMia,Jones,mia.jones@example.com\n", encoding="utf-8")
    with pytest.raises(OrderImportError) as raised:
        import_orders_file(path, service, shop)
    assert [e.line for e in raised.value.errors] == [1]
    assert service.count_orders() == 0


def test_a_file_that_is_not_utf8_is_reported_at_its_line(service, shop, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + shopify_row(item="Café Mug")).encode("latin-1"))
    with pytest.raises(OrderImportError) as raised:
        import_orders_file(path, service, shop)
    assert [e.line for e in raised.value.errors] == [2] and "UTF-8" in raised.value.errors[0].message


# ---- the command line ----

def run_cli(path: Path, database: str):
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "orders", "import", str(path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_imports_and_reports(tmp_path, shop):
    database = f"sqlite:///{tmp_path}/cli.db"
    done = run_cli(SHOPIFY, database)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("Imported 4 orders from shopify_orders.csv (Shopify): 4 new, 0 updated. "
                                   "Skipped 1 unpaid order.")

    failed = run_cli(MALFORMED, database)
    assert failed.returncode == 2
    lines = failed.stderr.splitlines()
    assert lines[0].startswith("shopify_malformed.csv: line 6: order number '#1001'")
    assert lines[1].startswith("shopify_malformed.csv: line 8: Email 'not-an-email'")
    assert "nothing imported" in lines[2]

    engine = create_database_engine(database)
    try:
        assert OrderService(engine, shop).count_orders() == 4  # only the first file's orders
    finally:
        engine.dispose()
