"""``python -m bot story export CONVERSATION_ID``: a real conversation kept as a conversation test
(bot/trainer/story_export.py), written only when the model passes it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, NoReturn

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.trained_models.registry import answering_model
from bot.trainer.story_export import StoryExportError, StoryFailed, export_conversation, story_file


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
    p.add_argument("--model", type=Path, help="check against this model (default: the one that answers)")
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
    out = args.out or story_file(Path("tests/stories"), args.conversation_id)
    engine = create_database_engine(settings.database_url)
    try:
        migrate(engine)
        model = None if args.no_check else (args.model or answering_model(engine, settings.model_path))
        if model is not None:
            print(f"Running it against {model} (about a minute)…", flush=True)
        messages = export_conversation(engine, args.conversation_id, domain, out, model,
                                       _corrections(args.intent, list(domain.intents)))
    except StoryFailed as failed:
        print(failed.wrong, file=sys.stderr)
        _fail("the model does not pass this conversation (above, the turns it gets wrong: '# predicted: …'); "
              "correct them with --intent or retrain first. Nothing written")
    except StoryExportError as error:
        _fail(str(error) + ("; choose another file with --out" if "exists already" in str(error) else ""))
    finally:
        engine.dispose()
    print(f"Wrote {out} ({messages} customer messages); make test-stories runs it.")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
