"""``python -m bot story export CONVERSATION_ID``: a real conversation kept as a conversation test
(bot/trainer/story_export.py), written only when the model passes it."""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, NoReturn

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.trainer.story_export import (
    StoryExportError,
    check_story,
    conversation_events,
    labelled_intents,
    story_name,
    story_yaml,
)


def add_commands(commands: Any, settings: Callable[[], Any]) -> None:
    p = commands.add_parser("story", help="conversation tests from real conversations")
    story_commands = p.add_subparsers(dest="story_command", required=True)
    p = story_commands.add_parser("export", help="keep a conversation as a test under tests/stories/")
    p.add_argument("conversation_id")
    p.add_argument("--intent", action="append", default=[], metavar="EVENT_ID=INTENT",
                   help="the right intent of one customer message (ids from `inbox list`); repeatable")
    p.add_argument("--out", type=Path, help="default: tests/stories/test_conversation_<id>.yml")
    p.add_argument("--domain", type=Path, default=Path("domain.yml"))
    p.add_argument("--no-check", action="store_true", help="write it without running it against the model")
    p.set_defaults(func=lambda args: export(args, settings()))


def _corrections(given: List[str], intents: List[str]) -> Dict[int, str]:
    corrections: Dict[int, str] = {}
    for item in given:
        event_id, _, intent = item.partition("=")
        if not event_id.strip().isdigit() or not intent.strip():
            raise StoryExportError(f"--intent {item!r}: expected EVENT_ID=INTENT, e.g. 1234=delivery_time")
        if intent.strip() not in intents:
            raise StoryExportError(f"--intent {item!r}: {intent.strip()!r} is not an intent of the domain")
        corrections[int(event_id)] = intent.strip()
    return corrections


def export(args: argparse.Namespace, settings: Any) -> None:
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(args.domain))
    out = args.out or Path("tests/stories") / (
        "test_conversation_" + re.sub(r"[^\w-]", "-", args.conversation_id)[:60] + ".yml")
    if out.exists():
        _fail(f"{out} exists already; choose another file with --out")
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        corrections = {**labelled_intents(engine, args.conversation_id),
                       **_corrections(args.intent, list(domain.intents))}
        found = conversation_events(engine, args.conversation_id, corrections)
    except StoryExportError as error:
        _fail(str(error))
    finally:
        engine.dispose()
    text = story_yaml(found, story_name(args.conversation_id), domain)
    if "user:" not in text:
        _fail(f"conversation {args.conversation_id!r} has no customer message to test")
    handle = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, encoding="utf-8")
    with handle:
        handle.write(text)
    try:
        if not args.no_check:
            print(f"Running it against {settings.model_path} (about a minute)…", flush=True)
            wrong = check_story(Path(handle.name), settings.model_path)
            if wrong is not None:
                print(wrong, file=sys.stderr)
                _fail("the model does not pass this conversation (above, the turns it gets wrong: "
                      "'# predicted: …'); correct them with --intent or retrain first. Nothing written")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
    print(f"Wrote {out} ({text.count('- user:')} customer messages); make test-stories runs it.")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
