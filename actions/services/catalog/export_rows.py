"""One row of a product export by column name, and the small readers both formats share.

Every reader appends a problem naming the column instead of raising, so one pass over a file reports
every bad row (the import then writes nothing).
"""
from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple

from actions.services.catalog.products import MAX_DESCRIPTION, parse_money
from actions.services.csv_records import column_key


class Cells:
    """One row; a column is asked for by its name, or by any of the names it has gone by (aliases)."""

    def __init__(self, values: Dict[str, str], line: int) -> None:
        self.values = values
        self.line = line
        self.problems: List[str] = []

    def has(self, *names: str) -> bool:
        return any(column_key(n) in self.values for n in names)

    def text(self, *names: str) -> str:
        for name in names:
            if column_key(name) in self.values:
                return self.values[column_key(name)].strip()
        return ""

    def required(self, *names: str) -> str:
        value = self.text(*names)
        if not value:
            self.problems.append(f"{names[0]} is empty")
        return value

    def money(self, *names: str) -> Optional[Decimal]:
        value = self.text(*names)
        if not value:
            return None
        price = parse_money(value)
        if price is None:
            self.problems.append(f"{names[0]} {value!r} is not a price like 12.50")
        return price

    def whole_number(self, *names: str) -> Optional[int]:
        """A count that may be negative (Shopify and WooCommerce both allow overselling); None when empty."""
        value = self.text(*names)
        if not value:
            return None
        if not re.fullmatch(r"-?\d+(\.0+)?", value):
            self.problems.append(f"{names[0]} {value!r} is not a whole number")
            return None
        return int(float(value))

    def choice(self, name: str, allowed: Sequence[str]) -> str:
        value = self.text(name).lower()
        if value not in allowed:
            shown = ", ".join(repr(a) if a else "empty" for a in allowed)
            self.problems.append(f"{name} {self.text(name)!r} is not one of {shown}")
        return value

    def words(self, *names: str, separators: str = ",") -> Tuple[str, ...]:
        """Tags, categories: lower-case words, split on the separators, without repeats."""
        found: List[str] = []
        for name in names:
            for part in re.split(f"[{re.escape(separators)}]", self.text(name)):
                word = " ".join(part.split()).lower()
                if word and word not in found:
                    found.append(word)
        return tuple(found)


def one_line(text: str) -> str:
    """A description's first paragraph as plain text (exports carry HTML), at most MAX_DESCRIPTION long."""
    text = text.replace("\\n", "\n")  # WooCommerce writes line breaks as a literal \n
    first = re.split(r"</p>|<br\s*/?>|\n\s*\n", text, maxsplit=1, flags=re.IGNORECASE)[0]
    plain = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", first)).split())
    if len(plain) <= MAX_DESCRIPTION:
        return plain
    cut = plain[:MAX_DESCRIPTION - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def stock_count(count: Optional[int]) -> Optional[int]:
    """An oversold product (a negative count) is out of stock, not a debt the customer hears about."""
    return None if count is None else max(count, 0)
