"""shop.yml's catalog: bare names and full entries, each bad field named; imported products stored and read
back, replaced wholesale, and preferred over shop.yml's when there are any."""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any, Callable, Dict

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from actions.services import order_tables as t
from actions.services.catalog.products import CatalogError, Product, Variant, parse_catalog
from actions.services.catalog.store import ProductStore
from actions.services.shop_profile import ShopProfileError, parse_shop_profile, shop_profile_dict
from tests.conftest import ROOT

RAW = shop_profile_dict(ROOT / "shop.yml")


def test_the_demo_shop_has_18_products_with_prices_and_links(shop):
    assert len(shop.products) == 18
    assert shop.catalog == tuple(p.title for p in shop.products)  # the spaCy pipeline's patterns
    assert all(p.prices and p.url.startswith("https://kettleandcrumb.example/") for p in shop.products)
    chemex = next(p for p in shop.products if p.title == "Chemex")
    assert [(v.name, v.price, v.stock) for v in chemex.variants] == [
        ("6 cup", Decimal("45.00"), 3), ("8 cup", Decimal("49.00"), 0)]
    assert chemex.prices == (Decimal("45.00"), Decimal("49.00")) and chemex.in_stock is True
    mug = next(p for p in shop.products if p.title == "Ceramic Mug")
    assert mug.prices == (Decimal("12.00"),)  # the variants take the product's price
    assert "decaf" in next(p for p in shop.products if p.title == "Decaf Swiss Water").keywords
    assert shop.website == "https://kettleandcrumb.example"


def test_bare_names_are_still_a_valid_catalog():
    products = parse_catalog(["Chemex", "Gift Card"])
    assert products == (Product("Chemex"), Product("Gift Card"))
    assert products[0].prices == () and products[0].in_stock is None  # nothing known, nothing claimed


def test_stock_is_only_known_when_counted():
    assert Product("A", Decimal(1), stock=0).in_stock is False
    assert Product("A", Decimal(1), stock=4).in_stock is True
    assert Product("A", Decimal(1)).in_stock is None
    both = Product("A", Decimal(1), variants=(Variant("x", None, 0), Variant("y", None, None)))
    assert both.in_stock is True  # y is not counted: it may be ordered


def variant(change: Callable[[Dict[str, Any]], None]) -> str:
    raw = copy.deepcopy(RAW)
    change(raw)
    return yaml.safe_dump(raw, allow_unicode=True)


def entry(index: int, **fields: Any) -> Callable[[Dict[str, Any]], None]:
    return lambda raw: raw["catalog"][index].update(fields)


BAD = [
    ("catalog[0].price", entry(0, price="£9.50"), "a price like 12.50"),
    ("catalog[1].price", lambda r: r["catalog"][1].pop("price"), "is required"),
    ("catalog[1].stock", entry(1, stock=-3), "whole number ≥ 0"),
    ("catalog[1].stock", entry(1, stock="lots"), "whole number ≥ 0"),
    ("catalog[2].url", entry(2, url="kettleandcrumb.example/x"), "https://"),
    ("catalog[3].variants[1].name", lambda r: r["catalog"][3]["variants"][1].pop("name"), "non-empty"),
    ("catalog[3].variants[0].price", lambda r: r["catalog"][3]["variants"][0].update(price="nine"), "price"),
    ("catalog[3].variants", entry(3, variants="250 g"), "must be a list"),
    ("catalog[4].keywords", entry(4, keywords="decaf"), "list of words"),
    ("catalog[4].colour", entry(4, colour="brown"), "not a catalog field"),
    ("catalog[5].title", entry(5, title=""), "non-empty"),
    ("catalog[6].description", entry(6, description="x" * 301), "one line"),
    ("catalog[7].title", entry(7, title="earl grey"), "already catalog[5]"),
    ("catalog[8]", lambda r: r["catalog"].__setitem__(8, 42), "product name or a mapping"),
    ("catalog", lambda r: r.update(catalog=[]), "at least one"),
    ("website", lambda r: r.update(website="kettleandcrumb.example"), "https://"),
]


@pytest.mark.parametrize("field,change,problem", BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_each_bad_catalog_field_is_named(field, change, problem):
    with pytest.raises(ShopProfileError) as error:
        parse_shop_profile(variant(change))
    assert error.value.field == field
    assert problem in str(error.value)


def test_a_product_priced_only_by_its_variants_is_valid():
    products = parse_catalog([{"title": "Gift", "variants": [{"name": "£10", "price": 10},
                                                             {"name": "£20", "price": 20}]}])
    assert products[0].price is None and products[0].prices == (Decimal("10.00"), Decimal("20.00"))
    with pytest.raises(CatalogError, match=r"catalog\[0\].price: is required"):
        parse_catalog([{"title": "Gift", "variants": [{"name": "£10", "price": 10}, {"name": "any"}]}])


# ---- imported products in the database ----

def test_imported_products_read_back_in_order_and_replace_wholesale(engine, shop):
    store = ProductStore(engine)
    assert store.imported() is None and store.current(shop.products).source == "shop.yml"
    first = (Product("Chemex", None, (Variant("6 cup", Decimal("45.00"), 3, "CHX-6"),
                                      Variant("8 cup", Decimal("49.00"), 0)),
                     url="https://x.example/chemex", description="Glass brewer.",
                     keywords=("pour over", "filter")),
             Product("AeroPress", Decimal("34.95"), stock=7))
    store.replace_all(first, "shopify", dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc))
    catalog = store.current(shop.products)
    assert catalog.source == "shopify" and catalog.products == first
    assert catalog.imported_at == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)

    store.replace_all([Product("Earl Grey", Decimal("6.5"))], "woocommerce")
    assert [p.title for p in store.current(shop.products).products] == ["Earl Grey"]
    with engine.connect() as connection:  # the old variants went with their products
        assert connection.execute(select(func.count()).select_from(t.product_variants)).scalar_one() == 0
    assert store.clear() == 1 and store.current(shop.products).products == shop.products


def test_a_failed_replace_keeps_the_products_there_were(engine):
    store = ProductStore(engine)
    store.replace_all([Product("Chemex", Decimal("45"))], "shopify")
    broken = Product(None, Decimal("1"))  # type: ignore[arg-type] - a NULL title: the second insert fails
    with pytest.raises(IntegrityError):
        store.replace_all([Product("Kettle", Decimal("30")), broken], "shopify")
    assert [p.title for p in store.imported().products] == ["Chemex"]
