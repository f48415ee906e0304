"""Shopify's product export (Products › Export, "CSV for Excel, Numbers, or other spreadsheet programs").

One row per variant. A product's first row carries its columns (Title, Body (HTML), Vendor, Type, Tags,
Published, Status); its other variants repeat the Handle and leave Title empty; rows that add only an
image repeat the Handle with no option, price or SKU. A product without options has one variant whose
Option1 Value is "Default Title". Shopify renamed several columns in 2024 (URL handle, Description, SKU,
Price, Inventory quantity, Option1 name/value); both spellings are read.

* Only ``active`` products are imported (Status; older exports without Status: Published not FALSE);
  drafts and archived products are counted as skipped, like unpaid orders in the orders import.
* Stock: Variant Inventory Qty when Shopify tracks it (Variant Inventory Tracker ``shopify``); a variant
  that may be sold when out of stock (Variant Inventory Policy ``continue``) or is not tracked has no
  count, so the bot never calls it sold out.
* The link is shop.yml's ``website`` + ``/products/<handle>``, Shopify's product URL.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from actions.services.catalog.export_rows import Cells, one_line, stock_count
from actions.services.catalog.products import Product, Variant
from actions.services.csv_records import RowError

# Required columns, each with the names Shopify has used for it (the first is the one errors name).
COLUMNS: Tuple[Tuple[str, ...], ...] = (
    ("Handle", "URL handle"), ("Title",), ("Variant Price", "Price"), ("Option1 Value",),
)
_HANDLE = COLUMNS[0]
_PRICE = COLUMNS[2]
_STATUSES = ("active", "draft", "archived", "unlisted")


@dataclass
class _Draft:
    handle: str
    line: int
    product: Optional[Product]           # None when its first row was bad
    sold: bool                           # active (and published)
    variants: List[Variant] = field(default_factory=list)
    bad: bool = False


def _head(cells: Cells, handle: str, website: str) -> Tuple[Optional[Product], bool]:
    title = cells.required("Title")
    if cells.has("Status"):
        sold = cells.choice("Status", _STATUSES + ("",)) in ("active", "unlisted", "")
    else:
        sold = cells.text("Published").lower() != "false"
    keywords = cells.words("Tags") + tuple(w for w in cells.words("Type") if w not in cells.words("Tags"))
    if not title:
        return None, sold
    return Product(title=" ".join(title.split()), url=f"{website.rstrip('/')}/products/{handle}" if website
                   else "", description=one_line(cells.text("Body (HTML)", "Description")),
                   keywords=keywords), sold


def _variant(cells: Cells) -> Optional[Variant]:
    """The row's variant; None for a row that only adds an image."""
    options = [cells.text(f"Option{n} Value") for n in (1, 2, 3)]
    sku = cells.text("Variant SKU", "SKU")
    if not any(options) and not sku and not cells.text(*_PRICE):
        return None
    price = cells.money(*_PRICE)
    if price is None and not cells.text(*_PRICE):
        cells.problems.append(f"{_PRICE[0]} is empty")
    count = cells.whole_number("Variant Inventory Qty", "Inventory quantity")
    tracked = cells.text("Variant Inventory Tracker").lower() == "shopify" or (
        not cells.has("Variant Inventory Tracker") and count is not None)
    oversell = cells.text("Variant Inventory Policy", "Continue selling when out of stock").lower() in (
        "continue", "true")
    name = " / ".join(o for o in options if o)
    return Variant(name="" if name == "Default Title" else name, price=price,
                   stock=stock_count(count) if tracked and not oversell else None, sku=sku)


def _finish(draft: _Draft) -> Product:
    assert draft.product is not None
    variants = draft.variants
    if len(variants) == 1 and not variants[0].name:  # no options: the product is its one variant
        return replace(draft.product, price=variants[0].price, stock=variants[0].stock)
    return replace(draft.product, variants=tuple(variants))


def read_products(rows: Sequence[Cells], website: str) -> Tuple[List[Product], List[RowError], List[str]]:
    """(products, errors, titles skipped as drafts or archived) from the export's rows, in file order."""
    errors: List[RowError] = []
    drafts: Dict[str, _Draft] = {}
    current: Optional[str] = None
    for cells in rows:
        handle = cells.required(*_HANDLE).lower()
        draft = drafts.get(handle) if handle else None
        if handle and draft is None:
            product, sold = _head(cells, handle, website)
            draft = drafts[handle] = _Draft(handle, cells.line, product, sold)
        elif draft is not None and handle != current:
            cells.problems.append(f"product {handle!r} already appeared at line {draft.line}; "
                                  "rows of one product must be together")
        elif draft is not None and cells.text("Title") and draft.product \
                and cells.text("Title") != draft.product.title:
            cells.problems.append(f"Title {cells.text('Title')!r} differs from line {draft.line}'s "
                                  f"{draft.product.title!r} for product {handle!r}")
        current = handle
        variant = _variant(cells)
        if cells.problems:
            errors.append(RowError(cells.line, "; ".join(cells.problems)))
            if draft is not None:
                draft.bad = True
        elif draft is not None and variant is not None:
            draft.variants.append(variant)
    for draft in drafts.values():
        if draft.product is not None and not draft.bad and not draft.variants:
            errors.append(RowError(draft.line, f"product {draft.handle!r} has no variant with a price"))
            draft.bad = True
    products = [_finish(d) for d in drafts.values() if d.product and not d.bad and d.sold]
    skipped = [d.product.title for d in drafts.values() if d.product and not d.bad and not d.sold]
    return products, errors, skipped
