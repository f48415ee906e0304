"""``python -m bot catalog import FILE | list | clear``: the shop's products from its platform's export.

The import replaces every imported product or, on any bad row, nothing (each bad row is printed with its
line). The bot answers from the imported products at once (no restart, no retraining), and from shop.yml's
catalog when none are imported.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import Engine

from actions.services.catalog.products import Product
from actions.services.catalog.store import ProductStore
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from actions.services.shop_profile import ShopProfile
from bot.cli.configuration import read_settings, read_shop


def add_commands(commands: Any) -> None:
    p = commands.add_parser("catalog", help="the products the bot answers about")
    catalog_commands = p.add_subparsers(dest="catalog_command", required=True)
    p = catalog_commands.add_parser("import", help="replace them with a Shopify or WooCommerce export")
    p.add_argument("file", help="the export, e.g. products_export.csv")
    p.add_argument("--shop", help="shop profile (default: SHOP_FILE or shop.yml)")
    p.set_defaults(func=catalog)
    p = catalog_commands.add_parser("list", help="the products customers are answered from, with prices")
    p.add_argument("--shop", help="shop profile (default: SHOP_FILE or shop.yml)")
    p.set_defaults(func=catalog)
    p = catalog_commands.add_parser("clear", help="forget the imported products (back to shop.yml's)")
    p.set_defaults(func=catalog)


def catalog(args: argparse.Namespace) -> None:
    """Import, list or forget the shop's products."""
    settings = read_settings(shop_file=Path(args.shop) if getattr(args, "shop", None) else None)
    if args.catalog_command == "clear":
        clear_catalog(settings.database_url)
        return
    shop = read_shop(settings.shop_file)
    if args.catalog_command == "list":
        list_catalog(settings.database_url, shop)
    elif import_catalog(Path(args.file), settings.database_url, shop):
        raise SystemExit(2)


def _with_store(database_url: str, work: Callable[[ProductStore], None]) -> None:
    engine: Engine = create_database_engine(database_url)
    try:
        migrate(engine)
        work(ProductStore(engine))
    finally:
        engine.dispose()


def import_catalog(path: Path, database_url: str, shop: ShopProfile) -> int:
    """The exit status: 0 imported, 2 nothing imported (the reasons on stderr)."""
    if not path.is_file():  # before touching the database, so a typo creates no empty var/bot.db
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    from actions.services.catalog.product_import import ProductImportError, import_products_file

    status = 0

    def work(store: ProductStore) -> None:
        nonlocal status
        try:
            print(import_products_file(path, store, shop.website).text())
        except OSError as error:
            print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
            status = 2
        except ProductImportError as error:
            for row_error in error.errors:
                print(f"{error.file}: line {row_error.line}: {row_error.message}", file=sys.stderr)
            print(f"{error.file}: nothing imported; fix the rows above and run the import again",
                  file=sys.stderr)
            status = 2

    _with_store(database_url, work)
    return status


def _line(shop: ShopProfile, product: Product) -> str:
    def price(amount: object) -> str:
        return shop.money(float(amount)) if amount is not None else "no price"  # type: ignore[arg-type]

    def stock(count: "int | None") -> str:
        return "" if count is None else f", stock {count}"

    if not product.variants:
        return f"{product.title}: {price(product.price)}{stock(product.stock)}"
    parts = [f"{'' if v.name == price(product.variant_price(v)) else v.name + ' '}"  # a gift card's "£10"
             f"{price(product.variant_price(v))}{stock(v.stock)}" for v in product.variants]
    return f"{product.title}: " + "; ".join(parts)


def list_catalog(database_url: str, shop: ShopProfile) -> None:
    def work(store: ProductStore) -> None:
        catalog = store.current(shop.products)
        where = ("shop.yml (nothing imported)" if catalog.imported_at is None else
                 f"the {catalog.source} import of {catalog.imported_at:%Y-%m-%d %H:%M} UTC")
        print(f"{len(catalog.products)} products, from {where}:")
        for product in catalog.products:
            print(f"  {_line(shop, product)}")

    _with_store(database_url, work)


def clear_catalog(database_url: str) -> None:
    def work(store: ProductStore) -> None:
        removed = store.clear()
        print(f"Removed {removed} imported products; the bot answers from shop.yml's catalog again."
              if removed else "No imported products; the bot answers from shop.yml's catalog.")

    _with_store(database_url, work)
