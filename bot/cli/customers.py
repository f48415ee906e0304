"""``python -m bot customer export EMAIL [--out FILE]`` and ``customer delete EMAIL [--yes]``: one customer's
data, from every store (actions/services/customers/erasure.py); ``customer sweep`` deletes conversations
older than RETENTION_DAYS now, as the web server does daily."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from actions.services.database import create_database_engine
from actions.services.email_address import parse_email
from actions.services.migrations import migrate
from actions.services.wording import plural
from bot.cli.configuration import fail, read_settings

if TYPE_CHECKING:
    from actions.services.customers.erasure import CustomerRecords

ACTOR = "command line"
T = TypeVar("T")


def add_commands(commands: Any) -> None:
    p = commands.add_parser("customer", help="one customer's data: export it, delete it")
    customer_commands = p.add_subparsers(dest="customer_command", required=True)
    p = customer_commands.add_parser("export", help="write everything held about EMAIL to a ZIP file")
    p.add_argument("email")
    p.add_argument("--out", metavar="FILE", help="the ZIP file to write (default: customer-<email>.zip)")
    p.set_defaults(func=export_customer)
    p = customer_commands.add_parser("delete", help="delete everything held about EMAIL (asks to confirm)")
    p.add_argument("email")
    p.add_argument("--yes", action="store_true", help="do not ask: for scripts")
    p.set_defaults(func=delete_customer)
    p = customer_commands.add_parser("sweep", help="delete conversations older than RETENTION_DAYS now")
    p.set_defaults(func=sweep)


def _email(text: str) -> str:
    email = parse_email(text)
    if email is None:
        raise fail(f"{text!r} is not an email address")
    return email.lower()


def _on_customer(email: str, work: Callable[["CustomerRecords"], T]) -> T:
    """``work`` on the configured database's customer data; nothing held about ``email``: the error exit."""
    from actions.services.customers.erasure import CustomerRecords

    settings = read_settings()
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        return work(CustomerRecords(engine, settings.upload_dir))
    except KeyError:
        raise fail(f"nothing is held about {email}: no conversation, order, ticket or case") from None
    finally:
        engine.dispose()


def export_customer(args: argparse.Namespace) -> None:
    email = _email(args.email)
    out = Path(args.out or f"customer-{re.sub(r'[^a-z0-9.@_-]', '_', email)}.zip")
    data = _on_customer(email, lambda records: records.export_zip(email=email, actor=ACTOR))
    try:  # readable by its owner only: it is one person's data
        with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
            file.write(data)
        out.chmod(0o600)
    except OSError as error:
        raise fail(f"cannot write {out}: {error.strerror}") from None
    print(f"Wrote everything held about {email} to {out} ({len(data):,} bytes).")


def delete_customer(args: argparse.Namespace) -> None:
    email = _email(args.email)
    if not args.yes:
        print(
            f"This deletes every conversation, case, ticket, rating and photo of {email}, and blanks the "
            "name, email, phone and address on their orders. It cannot be undone."
        )
        try:
            typed = input("Type the email again to delete: ")
        except EOFError:  # no terminal to answer from
            typed = ""
        if typed.strip().lower() != email:
            raise fail("not confirmed; nothing was deleted")
    done = _on_customer(email, lambda records: records.delete_customer(email=email, actor=ACTOR))
    print(
        f"Deleted {email}: {plural(done.conversations, 'conversation')}, {plural(done.cases, 'case')}, "
        f"{plural(done.files, 'photo')}; {plural(done.orders_anonymised, 'order')} kept for the books "
        "without their personal details."
    )


def sweep(args: argparse.Namespace) -> None:
    from actions.services.customers.old_conversations import sweep_old_conversations

    settings = read_settings()
    if not settings.retention_days:
        raise fail("RETENTION_DAYS is not set: conversations are kept")
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        done = sweep_old_conversations(engine, settings.upload_dir, settings.retention_days)
    finally:
        engine.dispose()
    print(
        f"Deleted {done.conversations} conversations older than {settings.retention_days} days "
        f"({done.files} photos)."
    )
