"""Import a shop's orders from its platform's orders export CSV, all or nothing.

The layouts recognised (Shopify's orders export and WooCommerce's Customer / Order / Coupon Export), how
their statuses become ours and what their rows carry are in ``order_export_formats``; this module reads
the file, merges its rows into orders and writes them.

Unpaid orders are skipped, not errors: they are a normal part of every export, and the bot cannot
promise anything about an order nobody paid for. They are counted in the summary.

Every row is checked before anything is written; each bad row is reported with its line number in the
file (the header is line 1; a row with a quoted line break is reported at the line it starts on), and
one bad row means nothing from the file is imported.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from actions.services.csv_records import RowError, column_key, csv_records, export_text, read_header
from actions.services.order_export_formats import (
    _ROW_READERS,
    _UNPAID,
    FORMAT_LABELS,
    SHOPIFY_COLUMNS,
    WOOCOMMERCE_COLUMNS,
    _Cells,
    _Head,
)
from actions.services.order_rules import Order, OrderLine
from actions.services.orders import OrderService
from actions.services.shop_profile import ShopProfile

# SHOPIFY_COLUMNS, WOOCOMMERCE_COLUMNS and FORMAT_LABELS stay importable from here, as before the split.


class UnknownFormatError(ValueError):
    """The header row is neither Shopify's orders export nor the WooCommerce export we support."""


@dataclass(frozen=True)
class ImportResult:
    format: Optional[str]                 # "shopify", "woocommerce"; None when the header is unknown
    orders: Tuple[Order, ...] = ()
    errors: Tuple[RowError, ...] = ()
    skipped: Tuple[str, ...] = ()         # numbers of unpaid orders left out

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportSummary:
    file: str
    format: str
    new: int
    updated: int
    skipped: int = 0

    @property
    def imported(self) -> int:
        return self.new + self.updated

    def text(self) -> str:
        plural = "" if self.imported == 1 else "s"
        text = (f"Imported {self.imported} order{plural} from {self.file} ({FORMAT_LABELS[self.format]}): "
                f"{self.new} new, {self.updated} updated.")
        if self.skipped:
            text += f" Skipped {self.skipped} unpaid order{'' if self.skipped == 1 else 's'}."
        return text


class OrderImportError(Exception):
    """The file has bad rows (or is not a supported export); nothing was imported."""

    def __init__(self, file: str, errors: Sequence[RowError]) -> None:
        super().__init__(f"{file}: " + "; ".join(str(e) for e in errors))
        self.file = file
        self.errors = tuple(errors)


def detect_format(header: List[str]) -> str:
    """``shopify`` or ``woocommerce`` from the header row; UnknownFormatError names what is missing."""
    names = {column_key(name) for name in header}
    missing = {fmt: [c for c in columns if column_key(c) not in names]
               for fmt, columns in (("shopify", SHOPIFY_COLUMNS), ("woocommerce", WOOCOMMERCE_COLUMNS))}
    for fmt, absent in missing.items():
        if not absent:
            return fmt
    message = (f"the header is neither Shopify's orders export (columns {', '.join(SHOPIFY_COLUMNS)}) nor "
               "WooCommerce's Customer/Order/Coupon Export 'Default - One Row per Item' "
               f"(columns {', '.join(WOOCOMMERCE_COLUMNS)})")
    # Name what the nearer layout lacks: that is most likely what the file was meant to be.
    nearer = min(missing, key=lambda fmt: len(missing[fmt]))
    if len(missing[nearer]) < len(SHOPIFY_COLUMNS if nearer == "shopify" else WOOCOMMERCE_COLUMNS):
        message += f"; as a {FORMAT_LABELS[nearer]} export it lacks " + ", ".join(missing[nearer])
    raise UnknownFormatError(message)


# ---- the whole file ---------------------------------------------------------------------------------------

@dataclass
class _Draft:
    number: str
    first_line: int
    head: Optional[_Head]
    lines: List[OrderLine] = field(default_factory=list)
    bad: bool = False


def parse_orders_csv(text: str, shop: ShopProfile) -> ImportResult:
    """Every order in the export and every bad row; orders are only meaningful when there are no errors."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = read_header(reader)
    if isinstance(header, RowError):
        return ImportResult(None, errors=(header,))
    try:
        fmt = detect_format(header)
    except UnknownFormatError as error:
        return ImportResult(None, errors=(RowError(1, str(error)),))
    read_row = _ROW_READERS[fmt]
    width = len(header)
    keys = [column_key(name) for name in header]

    errors: List[RowError] = []
    drafts: Dict[str, _Draft] = {}
    current: Optional[str] = None          # the order the previous row belonged to

    def is_first(number: Optional[str]) -> bool:
        return number is None or number not in drafts or number != current

    for line, cells in csv_records(reader, width, errors):
        row = read_row(_Cells(dict(zip(keys, cells, strict=True)), shop), line, is_first)
        problems = list(row.problems)
        draft = drafts.get(row.number) if row.number else None
        if row.number and draft is None:
            draft = drafts[row.number] = _Draft(row.number, line, row.head)
        elif draft is not None and row.number != current:
            problems.append(f"order {row.number} already appeared at line {draft.first_line}; "
                            "rows of one order must be together")
        elif draft is not None and draft.head and row.email and row.email.lower() != draft.head.email.lower():
            problems.append(f"email {row.email!r} differs from line {draft.first_line}'s "
                            f"{draft.head.email!r} for order {row.number}")
        current = row.number
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            if draft is not None:
                draft.bad = True
        elif draft is not None and row.item is not None:
            draft.lines.append(row.item)

    orders: List[Order] = []
    skipped: List[str] = []
    for draft in drafts.values():
        if draft.bad or draft.head is None:
            continue
        head = draft.head
        if head.status == _UNPAID:
            skipped.append(draft.number)
            continue
        orders.append(Order(
            number=draft.number, email=head.email, phone=head.phone, customer_name=head.customer_name,
            status=head.status, placed_at=head.placed_at, shipping_option=head.shipping_option,
            shipping_address=head.shipping_address, total=head.total, currency=head.currency,
            lines=tuple(draft.lines), shipment=head.shipment))
    return ImportResult(fmt, tuple(orders), tuple(errors), tuple(skipped))


def import_orders_file(path: "str | Path", service: OrderService, shop: ShopProfile) -> ImportSummary:
    """Parse the whole file, then upsert every order in one transaction; any bad row imports nothing."""
    path = Path(path)
    result = parse_orders_csv(export_text(path, OrderImportError), shop)
    if result.errors or result.format is None:
        raise OrderImportError(path.name, result.errors)
    # Counted before the write: a second import running at the same moment could shift new/updated by
    # one, which only affects the message.
    updated = sum(1 for order in result.orders if service.get(order.number) is not None)
    service.upsert_orders(list(result.orders), result.format)
    return ImportSummary(path.name, result.format, new=len(result.orders) - updated, updated=updated,
                         skipped=len(result.skipped))
