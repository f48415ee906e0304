"""Importing the shop's products from Shopify's and WooCommerce's product exports: parsing, all or nothing,
and the command line (import, list, clear)."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from actions.services.catalog.product_import import (
    ProductImportError,
    UnknownFormatError,
    detect_format,
    import_products_file,
    parse_products_csv,
)
from actions.services.catalog.products import Product, Variant
from actions.services.catalog.store import ProductStore
from actions.services.database import create_database_engine
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "products"
SHOPIFY = FIXTURES / "shopify_products.csv"
WOOCOMMERCE = FIXTURES / "woocommerce_products.csv"
SITE = "https://kettleandcrumb.example"


def parse(path: Path):
    return parse_products_csv(path.read_text(encoding="utf-8-sig"), SITE)


def edited(path: Path, record: int, **cells: str) -> str:
    """The fixture with some cells of one record (the header is record 1) changed. In the Shopify fixture
    the first product's description has a line break, so from its second record on, record n is on line
    n + 1 of the file."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = rows[0]
    for column, value in cells.items():
        rows[record - 1][header.index(column.replace("_", " "))] = value
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


# ---- detecting the layout ----

def test_format_is_detected_from_the_header():
    assert detect_format(SHOPIFY.read_text().splitlines()[0].split(",")) == "shopify"
    assert detect_format(["URL handle", "Title", "Price", "Option1 value"]) == "shopify"  # 2024 names
    assert detect_format(["ID", "Type", "Name", "Published", "In stock?", "Regular price", "Parent"]) == \
        "woocommerce"


def test_unknown_header_names_what_each_export_has():
    with pytest.raises(UnknownFormatError) as raised:
        detect_format(["Handle", "Title", "Price in pounds"])
    message = str(raised.value)
    assert "Regular price" in message
    assert "as a Shopify export it lacks Variant Price (or Price), Option1 Value" in message
    with pytest.raises(UnknownFormatError, match="it is an orders export"):
        orders = ROOT / "tests/fixtures/orders/shopify_orders.csv"
        detect_format(orders.read_text().splitlines()[0].split(","))


# ---- parsing ----

def test_shopify_export_becomes_products():
    result = parse(SHOPIFY)
    assert not result.errors
    assert result.format == "shopify" and result.skipped == ("Oat Milk Jug",)  # a draft: not for sale
    chemex, aeropress, gift, tumbler = result.products
    # two variant rows and an image-only row under one Handle; HTML description, tags and type as keywords
    assert chemex == Product(
        "Chemex Classic", None,
        (Variant("6 cup", Decimal("45.00"), 3, "CHX-6"), Variant("8 cup", Decimal("49.00"), 0, "CHX-8")),
        None, f"{SITE}/products/chemex-classic", "The glass pour-over brewer with a wooden collar.",
        ("pour over", "filter", "glass", "brewing gear"))
    # one "Default Title" variant: the product itself; an oversold count (-2) is sold out
    assert (aeropress.title, aeropress.price, aeropress.variants, aeropress.stock) == \
        ("AeroPress Original", Decimal("34.95"), (), 0)
    assert aeropress.description == "Makes smooth coffee & travels well."
    assert [(v.name, v.stock) for v in gift.variants] == [("£10", None), ("£25", None)]  # not tracked
    assert tumbler.stock is None  # sold when out of stock (policy continue): never "sold out"


def test_woocommerce_export_becomes_products():
    result = parse(WOOCOMMERCE)
    assert not result.errors and result.format == "woocommerce"
    assert result.skipped == ("Sencha Green Tea", "Matcha")  # private and draft
    colombia, chemex, earl_grey, frother = result.products
    assert colombia == Product("Colombia Huila", Decimal("10.50"), (), 21, "",
                               "Washed single origin; red apple and panela.",
                               ("filter", "single origin", "coffee", "beans"))
    # variations by Parent id:11; the unpublished 3-cup variation is left out; "Chemex - 8 cup" -> "8 cup"
    assert chemex.price is None and chemex.variants == (
        Variant("6 cup", Decimal("45.00"), 3, "CHX-6"), Variant("8 cup", Decimal("49.00"), 0, "CHX-8"))
    assert earl_grey.price == Decimal("5.50") and earl_grey.stock is None   # sale price without dates
    assert frother.price == Decimal("19.50") and frother.stock == 0       # scheduled sale: regular price
    assert frother.description == "Handheld frother for lattes."


BAD_SHOPIFY = [  # (record, cells, line in the file, problem)
    (2, {"Variant_Price": "£45"}, 2, "Variant Price '£45' is not a price like 12.50"),
    (3, {"Variant_Price": ""}, 4, "Variant Price is empty"),
    (5, {"Variant_Inventory_Qty": "lots"}, 6, "Variant Inventory Qty 'lots' is not a whole number"),
    (5, {"Status": "gone"}, 6, "Status 'gone' is not one of"),
    (5, {"Title": ""}, 6, "Title is empty"),
    (3, {"Title": "Chemex Deluxe"}, 4, "differs from line 2's 'Chemex Classic'"),
    (9, {"Handle": "chemex-classic"}, 10, "already appeared at line 2; rows of one product must be together"),
]


@pytest.mark.parametrize("record,cells,line,problem", BAD_SHOPIFY, ids=[b[3][:30] for b in BAD_SHOPIFY])
def test_each_bad_shopify_row_is_named_by_line(record, cells, line, problem):
    result = parse_products_csv(edited(SHOPIFY, record, **cells), SITE)
    assert [e.line for e in result.errors] == [line]
    assert problem in result.errors[0].message


BAD_WOOCOMMERCE = [
    (2, {"Regular_price": "ten"}, "Regular price 'ten' is not a price"),
    (2, {"Type": "bundle"}, "Type 'bundle' has none of"),
    (2, {"Published": "yes"}, "Published 'yes' is not one of"),
    (3, {"In_stock?": "maybe"}, "In stock? 'maybe' is not one of"),
    (4, {"Parent": "id:99"}, "Parent 'id:99' is not a product in this file"),
    (5, {"ID": "12"}, "ID 12 already appeared at line 4"),
    (2, {"Name": ""}, "Name is empty"),
]


@pytest.mark.parametrize("line,cells,problem", BAD_WOOCOMMERCE, ids=[b[2][:30] for b in BAD_WOOCOMMERCE])
def test_each_bad_woocommerce_row_is_named_by_line(line, cells, problem):
    result = parse_products_csv(edited(WOOCOMMERCE, line, **cells), SITE)
    assert [e.line for e in result.errors] == [line]
    assert problem in result.errors[0].message


def test_every_bad_row_is_reported_not_only_the_first():
    text = edited(SHOPIFY, 2, Variant_Price="x")
    rows = text.splitlines()
    rows.append("lonely,row")  # too few cells
    result = parse_products_csv("\n".join(rows) + "\n", SITE)
    assert [e.line for e in result.errors] == [2, 11]
    assert "has 2 cells but the header has 36 columns" in result.errors[1].message


def test_a_file_with_nothing_for_sale_is_an_error():
    header = SHOPIFY.read_text().splitlines()[0]
    only_header = parse_products_csv(header + "\n", SITE)
    assert only_header.errors[0].message == "there is no product for sale to import"
    assert parse_products_csv("", SITE).errors[0].line == 1


# ---- all or nothing ----

@pytest.fixture
def store(engine):
    return ProductStore(engine)


def test_import_replaces_the_products_and_a_bad_file_changes_nothing(store, tmp_path):
    summary = import_products_file(SHOPIFY, store, SITE)
    assert summary.text() == ("Imported 4 products (4 variants) from shopify_products.csv (Shopify); the bot "
                              "now answers from them instead of shop.yml's catalog. Skipped 1 draft, "
                              "archived or unpublished product.")
    bad = tmp_path / "products_export.csv"
    bad.write_text(edited(WOOCOMMERCE, 4, Regular_price="forty-five"), encoding="utf-8")
    with pytest.raises(ProductImportError) as raised:
        import_products_file(bad, store, SITE)
    assert [e.line for e in raised.value.errors] == [4]
    assert [p.title for p in store.imported().products] == [
        "Chemex Classic", "AeroPress Original", "Gift Card", "Travel Tumbler"]  # untouched
    summary = import_products_file(WOOCOMMERCE, store, SITE)
    assert summary.replaced == 4 and "replacing the 4 imported before" in summary.text()
    assert [p.title for p in store.imported().products] == [
        "Colombia Huila", "Chemex", "Earl Grey", "Milk Frother"]


def test_a_file_that_is_not_utf8_imports_nothing(store, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(SHOPIFY.read_bytes().replace("£10".encode(), "£10".encode("latin-1")))
    with pytest.raises(ProductImportError) as raised:
        import_products_file(path, store, SITE)
    assert "not UTF-8" in raised.value.errors[0].message and store.imported() is None


# ---- the command line ----

def bot(*args: str, database: str):
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "catalog", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_imports_lists_and_clears(tmp_path, shop):
    database = f"sqlite:///{tmp_path}/cli.db"
    listed = bot("list", database=database)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("18 products, from shop.yml (nothing imported):")
    assert "  Chemex: 6 cup £45, stock 3; 8 cup £49, stock 0" in listed.stdout

    done = bot("import", str(WOOCOMMERCE), database=database)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "Imported 4 products (2 variants) from woocommerce_products.csv (WooCommerce)")

    bad = tmp_path / "bad.csv"
    bad.write_text(edited(SHOPIFY, 5, Variant_Price="free"), encoding="utf-8")
    failed = bot("import", str(bad), database=database)
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [
        "bad.csv: line 6: Variant Price 'free' is not a price like 12.50",
        "bad.csv: nothing imported; fix the rows above and run the import again"]

    listed = bot("list", database=database).stdout
    assert "4 products, from the woocommerce import of" in listed and "  Earl Grey: £5.50" in listed
    assert bot("clear", database=database).stdout.startswith("Removed 4 imported products")
    assert bot("list", database=database).stdout.startswith("18 products, from shop.yml")
    assert bot("import", str(tmp_path / "missing.csv"), database=database).returncode == 2
    engine = create_database_engine(database)
    try:
        assert ProductStore(engine).imported() is None
    finally:
        engine.dispose()
