"""Import the shop's products from its platform's product export CSV, all or nothing.

Shopify's product export and WooCommerce's are recognised by their header row (what each carries and
how it becomes our products: ``shopify_export``, ``woocommerce_export``). Like the orders import, every
row is checked before anything is written; each bad row is reported with its line number in the file
(the header is line 1; a row with a quoted line break is reported at the line it starts on), and one
bad row means nothing is imported. A good file replaces every imported product in one transaction:
the export is the whole catalog, so a product missing from it is no longer sold.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from actions.services.catalog import shopify_export, woocommerce_export
from actions.services.catalog.export_rows import Cells
from actions.services.catalog.products import Product
from actions.services.catalog.store import ProductStore
from actions.services.csv_records import RowError, column_key, csv_records, export_text, read_header
from actions.services.order_export_formats import SHOPIFY_COLUMNS as SHOPIFY_ORDERS
from actions.services.order_export_formats import WOOCOMMERCE_COLUMNS as WOOCOMMERCE_ORDERS

FORMAT_LABELS = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
_Reader = Callable[[Sequence[Cells], str], Tuple[List[Product], List[RowError], List[str]]]
_FORMATS: Dict[str, Tuple[Tuple[Tuple[str, ...], ...], _Reader]] = {
    "shopify": (shopify_export.COLUMNS, shopify_export.read_products),
    "woocommerce": (woocommerce_export.COLUMNS, woocommerce_export.read_products),
}


class UnknownFormatError(ValueError):
    """The header row is neither Shopify's product export nor WooCommerce's."""


class ProductImportError(Exception):
    """The file has bad rows (or is not a supported export); nothing was imported."""

    def __init__(self, file: str, errors: Sequence[RowError]) -> None:
        super().__init__(f"{file}: " + "; ".join(str(e) for e in errors))
        self.file = file
        self.errors = tuple(errors)


@dataclass(frozen=True)
class ProductImportResult:
    format: Optional[str]                 # None when the header is unknown
    products: Tuple[Product, ...] = ()
    errors: Tuple[RowError, ...] = ()
    skipped: Tuple[str, ...] = ()         # drafts, archived, unpublished: not for sale


@dataclass(frozen=True)
class ProductImportSummary:
    file: str
    format: str
    products: int
    variants: int
    replaced: int                         # imported products there were before
    skipped: int = 0

    def text(self) -> str:
        text = (f"Imported {self.products} product{'' if self.products == 1 else 's'} "
                f"({self.variants} variant{'' if self.variants == 1 else 's'}) from {self.file} "
                f"({FORMAT_LABELS[self.format]})")
        text += f", replacing the {self.replaced} imported before." if self.replaced else \
            "; the bot now answers from them instead of shop.yml's catalog."
        if self.skipped:
            text += f" Skipped {self.skipped} draft, archived or unpublished product" \
                    f"{'' if self.skipped == 1 else 's'}."
        return text


def _label(names: Tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} (or {', '.join(names[1:])})"


def detect_format(header: Sequence[str]) -> str:
    """``shopify`` or ``woocommerce`` from the header row; UnknownFormatError names what is missing."""
    present = {column_key(name) for name in header}
    missing = {fmt: [_label(names) for names in columns if not any(column_key(n) in present for n in names)]
               for fmt, (columns, _) in _FORMATS.items()}
    for fmt, absent in missing.items():
        if not absent:
            return fmt
    message = ("the header is neither Shopify's product export (columns "
               + ", ".join(_label(n) for n in shopify_export.COLUMNS) + ") nor WooCommerce's (columns "
               + ", ".join(_label(n) for n in woocommerce_export.COLUMNS) + ")")
    nearer = min(missing, key=lambda fmt: len(missing[fmt]))  # most likely what the file was meant to be
    if len(missing[nearer]) < len(_FORMATS[nearer][0]):
        message += f"; as a {FORMAT_LABELS[nearer]} export it lacks " + ", ".join(missing[nearer])
    elif any(all(column_key(c) in present for c in cols) for cols in (SHOPIFY_ORDERS, WOOCOMMERCE_ORDERS)):
        message += "; it is an orders export: import it with `python -m bot orders import`"
    raise UnknownFormatError(message)


def parse_products_csv(text: str, website: str = "") -> ProductImportResult:
    """Every product in the export and every bad row; the products count only when there are no errors.
    ``website`` (shop.yml's) makes the product links of an export that names only a handle."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = read_header(reader)
    if isinstance(header, RowError):
        return ProductImportResult(None, errors=(header,))
    try:
        fmt = detect_format(header)
    except UnknownFormatError as error:
        return ProductImportResult(None, errors=(RowError(1, str(error)),))
    keys = [column_key(name) for name in header]
    errors: List[RowError] = []
    rows: List[Cells] = []
    for line, cells in csv_records(reader, len(keys), errors):
        rows.append(Cells(dict(zip(keys, cells, strict=True)), line))
    products, row_errors, skipped = _FORMATS[fmt][1](rows, website)
    errors = sorted(errors + row_errors, key=lambda e: e.line)
    if not errors and not products:
        errors = [RowError(2, "there is no product for sale to import" +
                           (f" (all {len(skipped)} are drafts, archived or unpublished)" if skipped else ""))]
    return ProductImportResult(fmt, tuple(products), tuple(errors), tuple(skipped))


def import_products_file(path: "str | Path", store: ProductStore, website: str = "") -> ProductImportSummary:
    """Parse the whole file, then replace the imported products in one transaction; any bad row imports
    nothing and leaves the products as they were."""
    path = Path(path)
    result = parse_products_csv(export_text(path, ProductImportError), website)
    if result.errors or result.format is None:
        raise ProductImportError(path.name, result.errors)
    before = store.count()
    store.replace_all(result.products, result.format)
    return ProductImportSummary(path.name, result.format, len(result.products),
                                sum(len(p.variants) for p in result.products), before, len(result.skipped))
