"""Imported products in the database: replaced wholesale by an import, read back at reply time.

The catalog a customer is answered from is the imported one when there is one, else shop.yml's, so an
import takes effect at once (no restart, no retraining) and a price or stock change is one import away.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.catalog.products import Product, Variant


@dataclass(frozen=True)
class Catalog:
    products: Tuple[Product, ...]
    source: str                       # "shop.yml", "shopify", "woocommerce"
    imported_at: Optional[dt.datetime] = None


def _money(value: object) -> Optional[Decimal]:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


class ProductStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace_all(self, products: Sequence[Product], source: str,
                    now: Optional[dt.datetime] = None) -> None:
        """The imported products become exactly these, in one transaction: all of them or none."""
        at = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
        with self.engine.begin() as connection:
            connection.execute(delete(t.product_variants))
            connection.execute(delete(t.products))
            for position, product in enumerate(products):
                product_id = connection.execute(t.products.insert().values(
                    position=position, title=product.title, price=product.price, stock=product.stock,
                    url=product.url, description=product.description, keywords=json.dumps(product.keywords),
                    source=source, imported_at=at)).inserted_primary_key[0]
                if product.variants:
                    connection.execute(t.product_variants.insert(), [
                        {"product_id": product_id, "position": index, "name": v.name, "price": v.price,
                         "stock": v.stock, "sku": v.sku} for index, v in enumerate(product.variants)])

    def clear(self) -> int:
        """Forget the imported products (the bot goes back to shop.yml's catalog); how many there were."""
        with self.engine.begin() as connection:
            connection.execute(delete(t.product_variants))
            return connection.execute(delete(t.products)).rowcount or 0

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(t.products)).scalar_one())

    def imported(self) -> Optional[Catalog]:
        """The imported catalog, or None when nothing was imported."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.products).order_by(t.products.c.position)).mappings().all()
            if not rows:
                return None
            variants: Dict[int, List[Variant]] = {}
            for v in connection.execute(select(t.product_variants).order_by(
                    t.product_variants.c.product_id, t.product_variants.c.position)).mappings():
                variants.setdefault(v["product_id"], []).append(
                    Variant(v["name"], _money(v["price"]), v["stock"], v["sku"] or ""))
        products = tuple(Product(
            title=row["title"], price=_money(row["price"]), variants=tuple(variants.get(row["id"], ())),
            stock=row["stock"], url=row["url"] or "", description=row["description"] or "",
            keywords=tuple(json.loads(row["keywords"] or "[]"))) for row in rows)
        return Catalog(products, rows[0]["source"], rows[0]["imported_at"].replace(tzinfo=dt.timezone.utc))

    def current(self, fallback: Sequence[Product]) -> Catalog:
        """What customers are answered from: the imported products if any, else ``fallback`` (shop.yml)."""
        return self.imported() or Catalog(tuple(fallback), "shop.yml")
