"""``python -m bot owner add EMAIL [--role owner|trainer|both]``: console accounts."""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.cli.configuration import fail, read_settings


def add_commands(commands: Any) -> None:
    p = commands.add_parser("owner", help="console accounts")
    owner_commands = p.add_subparsers(dest="owner_command", required=True)
    p = owner_commands.add_parser("add", help="create a console account (asks for the password)")
    p.add_argument("email")
    p.add_argument("--name", help="the name customers see on your replies (default: from the email)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--role", choices=("owner", "trainer", "both"), default="owner",
                   help="owner: cases, chats, figures; trainer: conversations, missed messages, models "
                        "(default owner)")
    p.set_defaults(func=add_owner)


def add_owner(args: argparse.Namespace) -> None:
    """Create a console account; the password is asked twice (or read from stdin for scripts)."""
    from actions.services.owners import ROLE_CHOICES, AccountError, OwnerAccounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.email}: ")
        if getpass.getpass("Again: ") != password:
            raise fail("the two passwords differ; nothing was created")
    engine = create_database_engine(read_settings().database_url)
    try:
        migrate(engine)
        owner = OwnerAccounts(engine).add(args.email, args.name or args.email.split("@")[0].title(), password,
                                          ROLE_CHOICES[args.role])
    except AccountError as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()
    print(f"Created the {' and '.join(owner.roles)} console account {owner.email} "
          f"(shown to customers as {owner.name}).")
