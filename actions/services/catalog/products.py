"""Products as records, and reading shop.yml's ``catalog:`` into them.

A catalog entry is either a bare name (``- Chemex``: the bot knows we sell it, nothing more) or a
mapping with a title, a price, optional variants, a stock count, a link, one line of description and the
words customers use for it (keywords). Nothing here guesses: a product without a price has
``price None`` and the answer says so, and a stock that is not counted is ``None``, never "in stock".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, List, Optional, Sequence, Tuple

_FIELDS = {"title", "price", "variants", "stock", "url", "description", "keywords"}
_VARIANT_FIELDS = {"name", "price", "stock", "sku"}
MAX_DESCRIPTION = 300


class CatalogError(ValueError):
    """A catalog entry is invalid; ``field`` is its dotted path in shop.yml (``catalog[3].price``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Variant:
    name: str                      # "6 cup", "250 g / Whole bean"
    price: Optional[Decimal]       # None: the product's price applies
    stock: Optional[int] = None    # None: not counted
    sku: str = ""


@dataclass(frozen=True)
class Product:
    title: str
    price: Optional[Decimal] = None        # None: unknown, or only the variants have prices
    variants: Tuple[Variant, ...] = ()
    stock: Optional[int] = None            # None: not counted (the variants may be)
    url: str = ""
    description: str = ""
    keywords: Tuple[str, ...] = ()         # lower case: "decaf", "espresso", "filter"

    def variant_price(self, variant: Variant) -> Optional[Decimal]:
        return variant.price if variant.price is not None else self.price

    @property
    def prices(self) -> Tuple[Decimal, ...]:
        """Every price a customer can pay for it, lowest first; empty when none is known."""
        found = {p for p in (self.variant_price(v) for v in self.variants) if p is not None}
        if not self.variants and self.price is not None:
            found.add(self.price)
        return tuple(sorted(found))

    @property
    def stock_counted(self) -> bool:
        return self.stock is not None or any(v.stock is not None for v in self.variants)

    @property
    def in_stock(self) -> Optional[bool]:
        """True / False when the stock is counted, None when nobody counts it (then we cannot say)."""
        if self.variants and any(v.stock is not None for v in self.variants):
            return any(v.stock is None or v.stock > 0 for v in self.variants)
        return None if self.stock is None else self.stock > 0


def parse_money(value: Any) -> Optional[Decimal]:
    """A price from YAML or a CSV cell (9.5, "9.50", "£9.50" is refused): None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        return None
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:  # pragma: no cover - the pattern already rules it out
        return None


def _text(raw: Any, field: str, optional: bool = False) -> str:
    if raw is None and optional:
        return ""
    if not isinstance(raw, str) or not raw.strip():
        raise CatalogError(field, "must be a non-empty text")
    return " ".join(raw.split())


def _price(raw: Any, field: str) -> Decimal:
    price = parse_money(raw)
    if price is None:
        raise CatalogError(field, f"must be a price like 12.50 (no currency sign), got {raw!r}")
    return price


def _stock(raw: Any, field: str) -> Optional[int]:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise CatalogError(field, f"must be a whole number ≥ 0 (leave it out when you don't count stock), "
                                  f"got {raw!r}")
    return raw


def _unknown(raw: dict, allowed: set, field: str) -> None:
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        raise CatalogError(f"{field}.{extra[0]}", f"is not a catalog field ({', '.join(sorted(allowed))})")


def _variant(raw: Any, field: str) -> Variant:
    if not isinstance(raw, dict):
        raise CatalogError(field, "must be a mapping with name and price (stock, sku optional)")
    _unknown(raw, _VARIANT_FIELDS, field)
    return Variant(
        name=_text(raw.get("name"), f"{field}.name"),
        price=None if raw.get("price") is None else _price(raw["price"], f"{field}.price"),
        stock=_stock(raw.get("stock"), f"{field}.stock"),
        sku=_text(raw.get("sku"), f"{field}.sku", optional=True) if raw.get("sku") is not None else "",
    )


def _keywords(raw: Any, field: str) -> Tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise CatalogError(field, "must be a list of words customers use, like [decaf, filter]")
    return tuple(_text(item, f"{field}[{index}]").lower() for index, item in enumerate(raw))


def _entry(raw: Any, field: str) -> Product:
    if isinstance(raw, str) or raw is None:
        return Product(_text(raw, field))
    if not isinstance(raw, dict):
        raise CatalogError(field, "must be a product name or a mapping with title and price")
    _unknown(raw, _FIELDS, field)
    title = _text(raw.get("title"), f"{field}.title")
    variants_raw = raw.get("variants") or []
    if not isinstance(variants_raw, list):
        raise CatalogError(f"{field}.variants", "must be a list of {name, price, stock, sku}")
    variants = tuple(_variant(item, f"{field}.variants[{index}]") for index, item in enumerate(variants_raw))
    price = None if raw.get("price") is None else _price(raw["price"], f"{field}.price")
    if price is None and (not variants or any(v.price is None for v in variants)):
        raise CatalogError(f"{field}.price", "is required (or give every variant its own price)")
    url = _text(raw.get("url"), f"{field}.url", optional=True)
    if url and not url.startswith(("https://", "http://")):
        raise CatalogError(f"{field}.url", f"{url!r} must start with https:// or http://")
    description = _text(raw.get("description"), f"{field}.description", optional=True)
    if len(description) > MAX_DESCRIPTION:
        raise CatalogError(f"{field}.description",
                           f"must be one line of at most {MAX_DESCRIPTION} characters")
    return Product(title=title, price=price, variants=variants,
                   stock=_stock(raw.get("stock"), f"{field}.stock"), url=url, description=description,
                   keywords=_keywords(raw.get("keywords"), f"{field}.keywords"))


def parse_catalog(items: Sequence[Any], field: str = "catalog") -> Tuple[Product, ...]:
    """shop.yml's catalog list as products; CatalogError names the first bad entry's field."""
    if not items:
        raise CatalogError(field, "must list at least one entry")
    products: List[Product] = []
    seen: Dict[str, int] = {}
    for index, item in enumerate(items):
        product = _entry(item, f"{field}[{index}]")
        key = product.title.lower()
        if key in seen:
            raise CatalogError(f"{field}[{index}].title",
                               f"{product.title!r} is already catalog[{seen[key]}]")
        seen[key] = index
        products.append(product)
    return tuple(products)
