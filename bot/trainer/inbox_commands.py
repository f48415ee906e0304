"""``python -m bot inbox list | label | dismiss``: the trainer's inbox of missed messages, from the terminal.

    python -m bot inbox list [--days 30] [--all]
    python -m bot inbox label ID INTENT [--only ID ...]     # the group of message ID, as examples of INTENT
        [--mark ID='is [the V60](product) in stock' ...]    # entity marks the trainer adds
    python -m bot inbox dismiss ID [--as noise|out_of_scope] [--only ID ...]

A label writes the messages into data/nlu (the file that holds the intent) and records the decision; the
data is then ready for `make train` (or the console's Train). Nothing is written when a message is
already an example of another intent: the command names it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.trainer.inbox import OUT_OF_SCOPE, Group, Inbox, InboxError
from bot.trainer.nlu_files import ExampleRefused, NluFiles

SHOWN_EXAMPLES = 5


def add_commands(commands: Any, settings: Callable[[], Any]) -> None:
    """Register ``inbox`` and its sub-commands on the top-level parser's sub-parsers."""
    p = commands.add_parser("inbox", help="customer messages the bot missed, grouped, to label or dismiss")
    inbox_commands = p.add_subparsers(dest="inbox_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--days", type=int, default=30, help="look this many days back (default 30)")
    common.add_argument("--data", type=Path, default=Path("data/nlu"), help="training data folder")
    common.add_argument("--domain", type=Path, default=Path("domain.yml"))
    p = inbox_commands.add_parser("list", parents=[common], help="the groups, biggest first")
    p.add_argument("--all", action="store_true", help="every message of each group, not only the first few")
    p.set_defaults(func=lambda args: _run(args, settings, _list))
    p = inbox_commands.add_parser("label", parents=[common],
                                  help="write a group's messages as examples of an intent")
    p.add_argument("id", type=int, help="a message's id (from list): its whole group")
    p.add_argument("intent")
    p.add_argument("--only", type=int, nargs="+", metavar="ID", help="only these messages of the group")
    p.add_argument("--by", default="command line", help="who decided (kept with the decision)")
    p.add_argument("--mark", action="append", default=[], metavar="ID=EXAMPLE",
                   help="message ID written with entity marks, e.g. 1234='is [the V60](product) in stock'")
    p.set_defaults(func=lambda args: _run(args, settings, _label))
    p = inbox_commands.add_parser("dismiss", parents=[common], help="take a group out of the inbox")
    p.add_argument("id", type=int)
    p.add_argument("--as", dest="kind", choices=("noise", OUT_OF_SCOPE), default="noise",
                   help="noise: nothing to learn; out_of_scope: written as out_of_scope examples")
    p.add_argument("--only", type=int, nargs="+", metavar="ID")
    p.add_argument("--by", default="command line")
    p.set_defaults(func=lambda args: _run(args, settings, _dismiss))


def _run(args: argparse.Namespace, settings: Callable[[], Any],
         command: Callable[[argparse.Namespace, Inbox, dt.datetime], int]) -> None:
    if args.days < 1:
        print("error: --days must be at least 1", file=sys.stderr)
        sys.exit(2)
    from bot.nlp.sentence_classifier import embed

    engine = create_database_engine(settings().database_url)
    try:
        migrate(engine)
        since = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=args.days)
        status = command(args, Inbox(engine, embed), since)
    finally:
        engine.dispose()
    if status:
        sys.exit(status)


def _data(args: argparse.Namespace) -> NluFiles:
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(args.domain))
    return NluFiles(args.data, domain.intents, domain.entities)


def group_lines(group: Group, every: bool = False) -> List[str]:
    suggestions = ", ".join(f"{intent} {confidence:.2f}" for intent, confidence in group.suggestions())
    lines = [f"group {group.id}: {len(group.messages)} message{'s' if len(group.messages) != 1 else ''}"
             f" - the model suggests {suggestions or 'nothing'}"]
    shown = group.messages if every else group.messages[:SHOWN_EXAMPLES]
    for message in shown:
        lines.append(f"  {message.event_id:>8}  {message.at:%Y-%m-%d %H:%M}  {message.text!r}"
                     f"  ({message.intent} {message.confidence:.2f}; {', '.join(message.reasons)})")
    if len(shown) < len(group.messages):
        lines.append(f"  … and {len(group.messages) - len(shown)} more (--all)")
    return lines


def _list(args: argparse.Namespace, inbox: Inbox, since: dt.datetime) -> int:
    groups = inbox.groups(since)
    if not groups:
        print(f"Nothing missed in the last {args.days} days.")
        return 0
    total = sum(len(g.messages) for g in groups)
    print(f"{total} missed message{'s' if total != 1 else ''} in {len(groups)} group"
          f"{'s' if len(groups) != 1 else ''} (last {args.days} days):")
    for group in groups:
        print("\n".join(group_lines(group, args.all)))
    return 0


def _label(args: argparse.Namespace, inbox: Inbox, since: dt.datetime) -> int:
    return _write(args, inbox, since, args.intent)


def _dismiss(args: argparse.Namespace, inbox: Inbox, since: dt.datetime) -> int:
    if args.kind == OUT_OF_SCOPE:
        return _write(args, inbox, since, OUT_OF_SCOPE)
    try:
        count = inbox.dismiss(inbox.group_of(args.id, since), args.by, args.only)
    except InboxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Dismissed {count} message{'s' if count != 1 else ''} as noise.")
    return 0


def _marks(given: List[str]) -> Dict[int, str]:
    marks: Dict[int, str] = {}
    for item in given:
        event_id, _, example = item.partition("=")
        if not event_id.strip().isdigit() or not example.strip():
            raise InboxError(f"--mark {item!r}: expected ID=EXAMPLE, "
                             "e.g. 1234='is [the V60](product) in stock'")
        marks[int(event_id)] = example
    return marks


def _write(args: argparse.Namespace, inbox: Inbox, since: dt.datetime, intent: str) -> int:
    try:
        group = inbox.group_of(args.id, since)
        written, already = inbox.label(group, intent, _data(args), args.by, args.only,
                                       _marks(getattr(args, "mark", [])))
    except (InboxError, ExampleRefused) as error:
        print(f"error: {error}; nothing written", file=sys.stderr)
        return 2
    for example in written:
        print(f"+ {intent}: {example}")
    for text in already:
        print(f"= {intent}: {text!r} was already an example")
    print(f"{len(written)} example{'s' if len(written) != 1 else ''} written to {args.data}; "
          f"train to use them (make train).")
    return 0
