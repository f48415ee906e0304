"""A real conversation as a conversation test under tests/stories/, checked before it is kept.

    python -m bot story export CONVERSATION_ID [--intent EVENT_ID=INTENT ...] [--out FILE] [--no-check]

The conversation is read from Rasa's tracker store (the ``events`` table) and written with Rasa's own
test-story writer: each customer message with its text and intent, each action the bot took, each slot
it set. A customer message the trainer labelled in the inbox (bot/trainer/inbox.py) carries that intent,
and ``--intent`` corrects more of them. Contact details never reach the repository: emails and phone
numbers in messages and slots are written as made-up ones (the same stand-ins as the inbox's).

Unless ``--no-check``, the story is first run with ``rasa test core --fail-on-prediction-errors``
against the model that answers (the latest activation, bot/trained_models/registry.py; ``MODEL_PATH`` before
any; ``--model`` another): it is written only if the model predicts every turn of it, so that
`make test-stories` stays green; otherwise the turns it gets wrong are printed and nothing is written.
The console's conversation page does the same with corrected intents and actions (bot/trainer/
story_checks.py runs it in the background).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.figures import events
from bot.trainer.contacts import anonymised, plain


class StoryExportError(ValueError):
    """A conversation that cannot be exported as asked; the message says why."""


def labelled_intents(engine: Engine, conversation_id: str) -> Dict[int, str]:
    """The intents the trainer gave this conversation's messages in the inbox, by event id."""
    with engine.connect() as connection:
        rows = connection.execute(select(t.inbox_decisions.c.event_id, t.inbox_decisions.c.intent).where(
            t.inbox_decisions.c.conversation_id == conversation_id,
            t.inbox_decisions.c.decision.in_(("labelled", "out_of_scope")))).all()
    return {int(event_id): intent for event_id, intent in rows}


def conversation_events(engine: Engine, conversation_id: str, corrections: Mapping[int, str],
                        actions: Mapping[int, str] = MappingProxyType({})) -> List[Dict[str, Any]]:
    """The conversation's events as Rasa stored them, corrected (the intent of customer messages, the
    action the bot should have taken) and without contact details."""
    with engine.connect() as connection:
        rows = connection.execute(select(events.c.id, events.c.data).where(
            events.c.sender_id == conversation_id).order_by(events.c.id)).all() \
            if inspect(connection).has_table("events") else []
    if not rows:
        raise StoryExportError(f"no conversation {conversation_id!r} in the tracker store")
    unknown = (set(corrections) | set(actions)) - {row.id for row in rows}
    if unknown:
        raise StoryExportError(f"not a message of this conversation: {', '.join(map(str, sorted(unknown)))}")
    found = []
    for row in rows:
        event = json.loads(row.data)
        if event.get("event") == "user":
            text, entities = anonymised(str(event.get("text") or ""), event.get("parse_data", {}).get(
                "entities") or event.get("entities") or [])
            intent = dict(event.get("parse_data", {}).get("intent") or {})
            if row.id in corrections:
                intent = {"name": corrections[row.id], "confidence": 1.0}
            event.update(text=text, parse_data={**event.get("parse_data", {}), "text": text,
                                                "intent": intent, "entities": entities})
        elif event.get("event") == "slot":
            event["value"] = plain(event.get("value"))
        elif event.get("event") == "action" and row.id in actions:
            event.update(name=actions[row.id], policy=None, confidence=1.0)
        found.append(event)
    kinds = {row.id: event.get("event") for row, event in zip(rows, found, strict=True)}
    not_messages = [event_id for event_id in corrections if kinds[event_id] != "user"]
    if not_messages:
        raise StoryExportError(f"not a customer message: {', '.join(map(str, sorted(not_messages)))}")
    not_actions = [event_id for event_id in actions if kinds[event_id] != "action"]
    if not_actions:
        raise StoryExportError(f"not an action of the bot: {', '.join(map(str, sorted(not_actions)))}")
    return found


def story_yaml(found: List[Dict[str, Any]], name: str, domain: Any) -> str:
    """The events as one conversation test in Rasa's YAML (test-story) format."""
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter

    parsed = [event for data in found if (event := Event.from_parameters(data)) is not None]
    tracker = DialogueStateTracker.from_events(name, parsed, slots=domain.slots)
    return tracker.export_stories(YAMLStoryWriter(), e2e=True)


def check_story(path: Path, model: Path) -> Optional[str]:
    """None when ``rasa test core`` predicts every turn of the story file; otherwise what it got wrong."""
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(
            [sys.executable, "-m", "rasa", "test", "core", "--stories", str(path), "--model", str(model),
             "--fail-on-prediction-errors", "--out", out], capture_output=True, text=True, timeout=600)
        if result.returncode == 0:
            return None
        failed = Path(out) / "failed_test_stories.yml"
        return failed.read_text(encoding="utf-8") if failed.is_file() else result.stderr[-2000:]


def story_name(conversation_id: str) -> str:
    return "conversation " + re.sub(r"[^\w-]", "-", conversation_id)[:60]


def story_file(folder: Path, conversation_id: str) -> Path:
    return folder / ("test_conversation_" + re.sub(r"[^\w-]", "-", conversation_id)[:60] + ".yml")


class StoryFailed(StoryExportError):
    """The model does not pass the conversation; ``wrong`` is Rasa's account of the turns it got wrong."""

    def __init__(self, wrong: str) -> None:
        super().__init__("the model does not pass this conversation; correct the wrong turns or retrain "
                         "first. Nothing was written")
        self.wrong = wrong


def prepare_story(engine: Engine, conversation_id: str, domain: Any, out: Path,
                  intents: Mapping[int, str] = MappingProxyType({}),
                  actions: Mapping[int, str] = MappingProxyType({})) -> str:
    """The conversation as a test story, with the inbox's labels and the given corrections; raises
    StoryExportError for what cannot be exported as asked (nothing is written here)."""
    wrong_intents = sorted(set(intents.values()) - set(domain.intents))
    if wrong_intents:
        raise StoryExportError(f"not an intent of the domain: {', '.join(wrong_intents)}")
    wrong_actions = sorted(set(actions.values()) - set(domain.action_names_or_texts))
    if wrong_actions:
        raise StoryExportError(f"not an action of the domain: {', '.join(wrong_actions)}")
    if out.exists():
        raise StoryExportError(f"{out} exists already")
    found = conversation_events(engine, conversation_id, {**labelled_intents(engine, conversation_id),
                                                          **intents}, actions)
    text = story_yaml(found, story_name(conversation_id), domain)
    if "user:" not in text:
        raise StoryExportError(f"conversation {conversation_id!r} has no customer message to test")
    return text


def keep_story(text: str, out: Path, model: Optional[Path]) -> int:
    """Write the story at ``out`` once ``model`` passes it (no check without a model); StoryFailed and
    nothing written otherwise. Returns how many customer messages it has."""
    handle = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, encoding="utf-8")
    with handle:
        handle.write(text)
    try:
        wrong = check_story(Path(handle.name), model) if model is not None else None
        if wrong is not None:
            raise StoryFailed(wrong)
        if out.exists():  # made meanwhile (the check takes a minute): keep the first
            raise StoryExportError(f"{out} exists already")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    finally:
        os.unlink(handle.name)
    return text.count("- user:")


def export_conversation(engine: Engine, conversation_id: str, domain: Any, out: Path, model: Optional[Path],
                        intents: Mapping[int, str] = MappingProxyType({}),
                        actions: Mapping[int, str] = MappingProxyType({})) -> int:
    """prepare_story, then keep_story: the conversation as a test at ``out``, if ``model`` passes it."""
    return keep_story(prepare_story(engine, conversation_id, domain, out, intents, actions), out, model)
