"""WooCommerce's product export (Products › Export, the built-in CSV exporter since WooCommerce 3.1).

One row per product and one per variation. ``Type`` says which: simple, variable (a product whose
variations carry the prices), variation (its ``Parent`` is ``id:<ID>`` or the parent's SKU), external,
grouped; several types may be listed ("simple, virtual"). Booleans are 1 / 0.

* Only published products are imported (``Published`` 1; 0 is private, -1 a draft), counted as skipped
  otherwise; a variation that is not published is left out of its product.
* Price: ``Sale price`` when it is set without a schedule, else ``Regular price``: a scheduled sale
  (``Date sale price starts`` / ``ends``) may not be on today, and the bot never states a price it
  cannot vouch for. Grouped products have no price of their own and are skipped.
* Stock: ``Stock`` when WooCommerce counts it (``parent``: the parent's count); otherwise ``In stock?``
  0 means sold out and 1 or backorder means it can be ordered, without a count.
* The export has no product links; replies link to shop.yml's ``website`` instead. Keywords come from
  ``Tags`` and ``Categories`` ("Coffee > Beans" gives coffee and beans).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Set, Tuple

from actions.services.catalog.export_rows import Cells, one_line, stock_count
from actions.services.catalog.products import Product, Variant
from actions.services.csv_records import RowError

COLUMNS: Tuple[Tuple[str, ...], ...] = (
    ("ID",), ("Type",), ("Name",), ("Published",), ("In stock?",), ("Regular price",), ("Parent",),
)
_TYPES = ("variation", "variable", "simple", "external", "grouped")


@dataclass
class _Parent:
    line: int
    product: Product
    sold: bool
    variants: List[Variant] = field(default_factory=list)


@dataclass(frozen=True)
class _Child:
    line: int
    parent: str          # "id:12" or a SKU
    variant: Variant
    sold: bool
    name: str            # the variation's Name, to take the parent's name off when it has no attributes


def _type(cells: Cells) -> str:
    given = {part.strip().lower() for part in cells.required("Type").split(",") if part.strip()}
    base = next((t for t in _TYPES if t in given), "")
    if given and not base:
        cells.problems.append(f"Type {cells.text('Type')!r} has none of " + ", ".join(_TYPES))
    return base


def _published(cells: Cells) -> bool:
    return cells.choice("Published", ("1", "0", "-1")) == "1"


def _price(cells: Cells) -> Optional[Decimal]:
    regular = cells.money("Regular price")
    sale = cells.money("Sale price")
    scheduled = cells.text("Date sale price starts") or cells.text("Date sale price ends")
    return sale if sale is not None and not scheduled else regular


def _stock(cells: Cells, inherits: bool = False) -> Optional[int]:
    in_stock = cells.choice("In stock?", ("1", "0", "backorder", "onbackorder", ""))
    if inherits and cells.text("Stock").lower() == "parent":
        return None
    count = cells.whole_number("Stock")
    if count is not None:
        return stock_count(count)
    return 0 if in_stock == "0" else None


def _attributes(cells: Cells) -> str:
    values = [cells.text(f"Attribute {n} value(s)") for n in range(1, 6)]
    return " / ".join(v for v in values if v)


def read_products(rows: Sequence[Cells], website: str) -> Tuple[List[Product], List[RowError], List[str]]:
    """(products, errors, names skipped as unpublished or grouped) from the export's rows."""
    errors: List[RowError] = []
    parents: Dict[str, _Parent] = {}        # by "id:<ID>" and by SKU
    order: List[_Parent] = []
    children: List[_Child] = []
    skipped: List[str] = []
    seen_ids: Dict[str, int] = {}
    bad_parents: Set[str] = set()             # their row is reported; their variations need not be
    for cells in rows:
        kind = _type(cells)
        name = " ".join(cells.required("Name").split())
        sold = _published(cells)
        ident, sku = cells.text("ID"), cells.text("SKU")
        if ident in seen_ids:
            cells.problems.append(f"ID {ident} already appeared at line {seen_ids[ident]}")
        elif ident:
            seen_ids[ident] = cells.line
        price, stock = _price(cells), _stock(cells, inherits=kind == "variation")
        if kind == "variation":
            parent_ref = cells.required("Parent")
            variant = Variant(_attributes(cells), price, stock, sku)
            if not cells.problems:
                children.append(_Child(cells.line, parent_ref, variant, sold, name))
        elif kind and not cells.problems:
            keywords = cells.words("Tags") + tuple(
                w for w in cells.words("Categories", separators=",>") if w not in cells.words("Tags"))
            product = Product(title=name, price=None if kind == "variable" else price, stock=stock,
                              url=cells.text("External URL") if kind == "external" else "",
                              description=one_line(cells.text("Short description", "Description")),
                              keywords=keywords)
            entry = _Parent(cells.line, product, sold and kind != "grouped")
            for key in (f"id:{ident}" if ident else "", sku):
                if key:
                    parents[key] = entry
            order.append(entry)
        if cells.problems:
            errors.append(RowError(cells.line, "; ".join(cells.problems)))
            if kind != "variation":
                bad_parents.update({f"id:{ident}", sku} - {"id:", ""})
    for child in children:
        key = child.parent if child.parent.startswith("id:") or child.parent in parents \
            else f"id:{child.parent}"
        parent = parents.get(key)
        if parent is None and (key in bad_parents or child.parent in bad_parents):
            continue
        if parent is None:
            errors.append(RowError(child.line, f"Parent {child.parent!r} is not a product in this file"))
        elif child.sold:
            variant = child.variant
            if not variant.name:  # "Chemex - 8 cup" under "Chemex": the part after the parent's name
                variant = replace(variant, name=child.name.removeprefix(parent.product.title).strip(" -–") or
                                  child.name)
            parent.variants.append(variant)
    products: List[Product] = []
    for entry in order:
        if not entry.sold:
            skipped.append(entry.product.title)
        elif entry.variants:
            products.append(replace(entry.product, variants=tuple(entry.variants)))
        else:
            products.append(entry.product)
    return products, errors, skipped
