"""``python -m bot digest [--dry-run] [--force]``: the owner's daily digest, now."""
from __future__ import annotations

import argparse
from typing import Any

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.cli.configuration import fail, read_settings, read_shop


def add_commands(commands: Any) -> None:
    p = commands.add_parser("digest", help="email the owner today's digest now (SMTP_* settings)")
    p.add_argument("--dry-run", action="store_true", help="print the email instead of sending it")
    p.add_argument("--force", action="store_true",
                   help="send even if today's digest went out already or there is nothing to report")
    p.set_defaults(func=send_digest)


def send_digest(args: argparse.Namespace) -> None:
    """Today's digest for the owner now (the web server sends it daily at owner.digest_at)."""
    from actions.services.clock import utc_now
    from actions.services.digest import collect_digest, send_daily_digest
    from actions.services.mail import Mailer, MailError

    settings = read_settings()
    shop = read_shop(settings.shop_file)
    mailer = Mailer(settings.smtp)
    if not args.dry_run and not mailer.enabled:
        raise fail("SMTP_HOST is not set, so no email can be sent; --dry-run prints the digest instead")
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
        raise fail(f"{error}; today's digest is not marked as sent, so a later run can send it") from None
    finally:
        engine.dispose()
    print({
        "sent": f"Sent to {shop.owner_email}: {run.digest.subject}",
        "already_sent": f"Today's digest ({run.digest.day}) went out already; --force sends it again.",
        "nothing_to_report": "Nothing to report (no new complaints, open tickets or waiting chats); "
                             "no email sent. --force sends one anyway.",
    }[run.outcome])
