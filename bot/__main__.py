"""Command line: ``python -m bot run | serve | check-shop | build-nlp | orders import FILE | orders seed |
catalog import FILE | catalog list | catalog clear | owner add EMAIL | digest | report --since DATE |
inbox list | inbox label ID INTENT | inbox dismiss ID | story export CONVERSATION_ID | train |
model list | model activate ID | model rollback`` (inbox and story in bot/trainer/, train and model in
bot/trained_models/commands.py).

``run`` is what ``make run`` calls: it checks shop.yml, starts the action server and the web
server as two processes, prints the URL, and stops both on Ctrl-C.
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import List, Sequence

from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.migrations import migrate
from actions.services.orders import OrderService
from actions.services.shared_secret import load_or_create_secret
from actions.services.shop_profile import ShopProfile, ShopProfileError, load_shop_profile
from bot.settings import Settings, SettingsError
from bot.trained_models import commands as model_commands
from bot.trainer import inbox_commands, story_commands


def _fail(message: str) -> "SystemExit":
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(2)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(os.environ, **overrides)
    except SettingsError as error:
        raise _fail(str(error)) from None


def _shop(path: Path) -> ShopProfile:
    try:
        return load_shop_profile(path)
    except ShopProfileError as error:
        raise _fail(str(error)) from None


def serve(args: argparse.Namespace) -> None:
    settings = _settings(port=args.port, host=args.host, enable_api=args.enable_api or None,
                         model_path=Path(args.model) if args.model else None)
    shop = _shop(settings.shop_file)
    if not settings.model_path.is_file():
        raise _fail(f"no trained model at {settings.model_path}; run `make train` first")
    from bot.server_logging import configure_server_logging

    configure_server_logging(settings.log_level)
    from bot.app import create_app  # imports Rasa and TensorFlow: only when serving

    app = create_app(settings, shop)
    app.run(host=settings.host, port=settings.port, workers=1, access_log=False, motd=False)


def _spawn(command: List[str]) -> subprocess.Popen:
    return subprocess.Popen(command, start_new_session=True)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def _seed(settings: Settings, shop: ShopProfile) -> int:
    """Bring the order tables up to date and, into an empty database, load the demo orders."""
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        return seed_demo_orders(OrderService(engine, shop))
    finally:
        engine.dispose()


def seed_orders(args: argparse.Namespace) -> None:
    settings = _settings()
    added = _seed(settings, _shop(settings.shop_file))
    print(f"Added {added} demo orders." if added else "The database already has orders; nothing added.")


def run(args: argparse.Namespace) -> None:
    """Start the action server and the web server; stop both when either stops or on Ctrl-C."""
    settings = _settings(port=args.port)
    shop = _shop(settings.shop_file)
    if _seed(settings, shop):
        print("  First start: added the demo orders (README.md, \"Try the order flows\").", flush=True)
    # Both processes read the secret the web server signs its calls to the action server with.
    load_or_create_secret(settings.action_secret, settings.action_secret_file)
    python = sys.executable
    processes = [
        _spawn([python, "-m", "actions.server", "--port", str(settings.action_port)]),
        _spawn([python, "-m", "bot", "serve", "--port", str(settings.port)]),
    ]
    url = f"http://{settings.host}:{settings.port}/"
    print(f"\n  Starting the {shop.name} assistant (loading the model takes a few seconds)…\n", flush=True)
    stopping = False
    ready = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(p.poll() is None for p in processes):
            if not ready and _healthy(url + "health"):
                ready = True
                print(f"\n  Ready: open {url} to chat with the bot (Ctrl-C stops it)\n", flush=True)
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    failed = [p.returncode for p in processes if p.returncode not in (0, -signal.SIGINT, None)]
    if failed and not stopping:
        raise SystemExit(1)


def check_shop(args: argparse.Namespace) -> None:
    shop = _shop(Path(args.file))
    print(f"{args.file}: OK ({shop.name}, {len(shop.shipping_options)} shipping options, "
          f"{len(shop.catalog)} products)")


def build_nlp(args: argparse.Namespace) -> None:
    from bot.nlp.pipeline import write_pipeline

    target = Path(args.out)
    if write_pipeline(_shop(Path(args.shop)), target):
        print(f"spaCy pipeline written to {target}")
    else:
        print(f"spaCy pipeline {target} is up to date (catalog and order numbers unchanged)")


def import_orders(args: argparse.Namespace) -> None:
    """Import a Shopify / WooCommerce orders export into DATABASE_URL; any bad row imports nothing."""
    settings = _settings(shop_file=Path(args.shop) if args.shop else None)
    shop = _shop(settings.shop_file)
    path = Path(args.file)
    if not path.is_file():  # before touching the database, so a typo creates no empty var/bot.db
        raise _fail(f"{path}: no such file")
    from actions.services.order_import import OrderImportError, import_orders_file

    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        summary = import_orders_file(path, OrderService(engine, shop), shop)
    except OSError as error:
        raise _fail(f"cannot read {path}: {error.strerror}") from None
    except OrderImportError as error:
        for row_error in error.errors:
            print(f"{error.file}: line {row_error.line}: {row_error.message}", file=sys.stderr)
        print(f"{error.file}: nothing imported; fix the rows above and run the import again", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        engine.dispose()
    print(summary.text())


def catalog(args: argparse.Namespace) -> None:
    """Import, list or forget the shop's products (bot/catalog_commands.py)."""
    from bot import catalog_commands

    settings = _settings(shop_file=Path(args.shop) if getattr(args, "shop", None) else None)
    if args.catalog_command == "clear":
        catalog_commands.clear_catalog(settings.database_url)
        return
    shop = _shop(settings.shop_file)
    if args.catalog_command == "list":
        catalog_commands.list_catalog(settings.database_url, shop)
    elif catalog_commands.import_catalog(Path(args.file), settings.database_url, shop):
        raise SystemExit(2)


def add_owner(args: argparse.Namespace) -> None:
    """Create a console account; the password is asked twice (or read from stdin for scripts)."""
    from actions.services.owners import ROLE_CHOICES, AccountError, OwnerAccounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.email}: ")
        if getpass.getpass("Again: ") != password:
            raise _fail("the two passwords differ; nothing was created")
    engine = create_database_engine(_settings().database_url)
    try:
        migrate(engine)
        owner = OwnerAccounts(engine).add(args.email, args.name or args.email.split("@")[0].title(), password,
                                          ROLE_CHOICES[args.role])
    except AccountError as error:
        raise _fail(str(error)) from None
    finally:
        engine.dispose()
    print(f"Created the {' and '.join(owner.roles)} console account {owner.email} "
          f"(shown to customers as {owner.name}).")


def send_digest(args: argparse.Namespace) -> None:
    """Today's digest for the owner now (the web server sends it daily at owner.digest_at)."""
    from actions.services.clock import utc_now
    from actions.services.digest import collect_digest, send_daily_digest
    from actions.services.mail import Mailer, MailError

    settings = _settings()
    shop = _shop(settings.shop_file)
    mailer = Mailer(settings.smtp)
    if not args.dry_run and not mailer.enabled:
        raise _fail("SMTP_HOST is not set, so no email can be sent; --dry-run prints the digest instead")
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        if args.dry_run:
            digest = collect_digest(engine, shop, settings.console_url, utc_now())
            print(f"To: {shop.owner_email}\nSubject: {digest.subject}\n\n{digest.body}")
            if digest.empty:
                print("(Nothing to report: the daily run sends no email; --force sends this one.)")
            return
        run = send_daily_digest(engine, mailer, shop, settings.console_url, utc_now(), force=args.force)
    except MailError as error:
        raise _fail(f"{error}; today's digest is not marked as sent, so a later run can send it") from None
    finally:
        engine.dispose()
    print({
        "sent": f"Sent to {shop.owner_email}: {run.digest.subject}",
        "already_sent": f"Today's digest ({run.digest.day}) went out already; --force sends it again.",
        "nothing_to_report": "Nothing to report (no new complaints, open tickets or waiting chats); "
                             "no email sent. --force sends one anyway.",
    }[run.outcome])


def report(args: argparse.Namespace) -> None:
    """The owner's figures as plain text, as on the console's figures page; --csv also writes the ratings
    and comments of the range to a file."""
    from actions.services.figures import (
        FigureRange,
        FigureRangeError,
        collect_feedback,
        collect_figures,
        feedback_csv,
    )
    from bot.figures_report import text_report

    settings = _settings()
    shop = _shop(settings.shop_file)
    today = dt.datetime.now(shop.timezone).date()
    try:  # no limit on the length here: a year or more is a fair question from the command line
        chosen = FigureRange.parse(args.since, args.until, args.by, today, max_days=None,
                                   names=("--since", "--until"))
    except FigureRangeError as error:
        raise _fail(str(error)) from None
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        figures = collect_figures(engine, shop.timezone, chosen)
        answers = collect_feedback(engine, shop.timezone, chosen) if args.csv else []
    finally:
        engine.dispose()
    print(text_report(figures, shop.name), end="")
    if args.csv:
        try:
            Path(args.csv).write_text(feedback_csv(answers), encoding="utf-8", newline="")
        except OSError as error:
            raise _fail(f"cannot write {args.csv}: {error.strerror}") from None
        print(f"\nWrote {len(answers)} ratings, comments and thumbs to {args.csv}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("run", help="start the action server and the web server")
    p.add_argument("--port", type=int)
    p.set_defaults(func=run)
    p = commands.add_parser("serve", help="start the web server only")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--model", help="model archive (default models/shop.tar.gz)")
    p.add_argument("--enable-api", action="store_true",
                   help="expose Rasa's HTTP API (needs RASA_API_TOKEN or RASA_JWT_SECRET)")
    p.set_defaults(func=serve)
    p = commands.add_parser("check-shop", help="validate a shop profile")
    p.add_argument("file", nargs="?", default="shop.yml")
    p.set_defaults(func=check_shop)
    p = commands.add_parser("build-nlp", help="build the spaCy pipeline from shop.yml")
    p.add_argument("--shop", default="shop.yml")
    p.add_argument("--out", default="build/spacy/en_shop")
    p.set_defaults(func=build_nlp)
    p = commands.add_parser("orders", help="manage the order database")
    order_commands = p.add_subparsers(dest="orders_command", required=True)
    p = order_commands.add_parser("import", help="import a Shopify or WooCommerce orders export (CSV)")
    p.add_argument("file", help="the export, e.g. orders_export.csv")
    p.add_argument("--shop", help="shop profile (default: SHOP_FILE or shop.yml)")
    p.set_defaults(func=import_orders)
    p = order_commands.add_parser("seed", help="load the demo orders into an empty database")
    p.set_defaults(func=seed_orders)
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
    p = commands.add_parser("owner", help="console accounts")
    owner_commands = p.add_subparsers(dest="owner_command", required=True)
    p = owner_commands.add_parser("add", help="create a console account (asks for the password)")
    p.add_argument("email")
    p.add_argument("--name", help="the name customers see on your replies (default: from the email)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--role", choices=("owner", "trainer", "both"), default="owner",
                   help="owner: cases, chats, figures; trainer: missed messages, the model (default owner)")
    p.set_defaults(func=add_owner)
    p = commands.add_parser("digest", help="email the owner today's digest now (SMTP_* settings)")
    p.add_argument("--dry-run", action="store_true", help="print the email instead of sending it")
    p.add_argument("--force", action="store_true",
                   help="send even if today's digest went out already or there is nothing to report")
    p.set_defaults(func=send_digest)
    p = commands.add_parser("report", help="print the owner's figures (CSAT, NPS, containment, ...)")
    p.add_argument("--since", required=True, help="first day, e.g. 2026-01-01 (the shop's local days)")
    p.add_argument("--until", help="last day, included (default: today)")
    p.add_argument("--by", choices=("day", "week"), default="day", help="one line per day or per week")
    p.add_argument("--csv", metavar="FILE", help="also write the ratings and comments of the range to FILE")
    p.set_defaults(func=report)
    inbox_commands.add_commands(commands, _settings)
    story_commands.add_commands(commands, _settings)
    model_commands.add_commands(commands, _settings)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
