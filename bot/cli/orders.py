"""``python -m bot orders import FILE | seed``: the shop's orders from its platform's export, or the demo
orders."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.migrations import migrate
from actions.services.orders import OrderService
from actions.services.shop_profile import ShopProfile
from bot.cli.configuration import fail, read_settings, read_shop
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    p = commands.add_parser("orders", help="manage the order database")
    order_commands = p.add_subparsers(dest="orders_command", required=True)
    p = order_commands.add_parser("import", help="import a Shopify or WooCommerce orders export (CSV)")
    p.add_argument("file", help="the export, e.g. orders_export.csv")
    p.add_argument("--shop", help="shop profile (default: SHOP_FILE or shop.yml)")
    p.set_defaults(func=import_orders)
    p = order_commands.add_parser("seed", help="load the demo orders into an empty database")
    p.set_defaults(func=seed_orders)


def seed(settings: Settings, shop: ShopProfile) -> int:
    """Bring the order tables up to date and, into an empty database, load the demo orders."""
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        return seed_demo_orders(OrderService(engine, shop))
    finally:
        engine.dispose()


def seed_orders(args: argparse.Namespace) -> None:
    settings = read_settings()
    added = seed(settings, read_shop(settings.shop_file))
    print(f"Added {added} demo orders." if added else "The database already has orders; nothing added.")


def import_orders(args: argparse.Namespace) -> None:
    """Import a Shopify / WooCommerce orders export into DATABASE_URL; any bad row imports nothing."""
    settings = read_settings(shop_file=Path(args.shop) if args.shop else None)
    shop = read_shop(settings.shop_file)
    path = Path(args.file)
    if not path.is_file():  # before touching the database, so a typo creates no empty var/bot.db
        raise fail(f"{path}: no such file")
    from actions.services.order_import import OrderImportError, import_orders_file

    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        summary = import_orders_file(path, OrderService(engine, shop), shop)
    except OSError as error:
        raise fail(f"cannot read {path}: {error.strerror}") from None
    except OrderImportError as error:
        for row_error in error.errors:
            print(f"{error.file}: line {row_error.line}: {row_error.message}", file=sys.stderr)
        print(f"{error.file}: nothing imported; fix the rows above and run the import again", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        engine.dispose()
    print(summary.text())
