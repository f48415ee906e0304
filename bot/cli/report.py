"""``python -m bot report --since DATE [--until DATE] [--by day|week|month] [--channel NAME] [--csv FILE]``:
the owner's figures."""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.cli.configuration import fail, read_settings, read_shop


def add_commands(commands: Any) -> None:
    p = commands.add_parser("report", help="print the owner's figures (CSAT, NPS, containment, ...)")
    p.add_argument("--since", required=True, help="first day, e.g. 2026-01-01 (the shop's local days)")
    p.add_argument("--until", help="last day, included (default: today)")
    p.add_argument("--by", choices=("day", "week", "month"), default="day",
                   help="one line per day, week or month (customer retention: per week, or per month)")
    p.add_argument("--channel", help="only this channel's conversations: website, whatsapp, messenger, "
                                     "instagram or telegram (the table by channel still lists every one)")
    p.add_argument("--csv", metavar="FILE", help="also write the ratings and comments of the range to FILE")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> None:
    """The owner's figures as plain text, as on the console's figures page; --csv also writes the ratings
    and comments of the range to a file."""
    from actions.services.channel_figures import ChannelError, collect_channel_figures, parse_channel
    from actions.services.customers.retention import collect_customer_figures
    from actions.services.feedback_csv import feedback_csv
    from actions.services.figures import FigureRange, FigureRangeError, collect_feedback
    from bot.figures_report import text_report

    settings = read_settings()
    shop = read_shop(settings.shop_file)
    today = dt.datetime.now(shop.timezone).date()
    try:  # no limit on the length here: a year or more is a fair question from the command line
        chosen = FigureRange.parse(args.since, args.until, args.by, today, max_days=None,
                                   names=("--since", "--until"))
        channel = parse_channel(args.channel)
    except (FigureRangeError, ChannelError) as error:
        raise fail(str(error)) from None
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        channels = collect_channel_figures(engine, shop.timezone, chosen, channel)
        customers = collect_customer_figures(engine, shop.timezone, chosen, channels.keep)
        answers = collect_feedback(engine, shop.timezone, chosen) if args.csv else []
    finally:
        engine.dispose()
    answers = [a for a in answers if channels.keep(a.conversation_id)]
    print(text_report(channels.figures, shop.name, customers, channels), end="")
    if args.csv:
        try:
            Path(args.csv).write_text(feedback_csv(answers), encoding="utf-8", newline="")
        except OSError as error:
            raise fail(f"cannot write {args.csv}: {error.strerror}") from None
        print(f"\nWrote {len(answers)} ratings, comments and thumbs to {args.csv}")
