"""The message mixes of the benchmark: the customers' messages of our conversation tests (tests/stories).

Each story becomes one conversation to replay: its ``user:`` texts in order, entity annotations taken out
(``[KC-10003](order_id)`` is typed as ``KC-10003``). Button payloads such as ``/inform{"choice": "none"}``
stay: they are what the widget sends when a button is pressed. A story with a step that has only
``intent:`` (no text) is left out whole: without that message the conversation would go another way.
Stories are grouped into the issue's mixes by their file; files in no mix (complaints, hand-offs, the
fallback) are left out too, and both kinds of leaving out are reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

FAQ, ORDERS, SMALL_TALK, FEEDBACK = "FAQ", "order flows", "small talk", "feedback"
MIXES = (FAQ, ORDERS, SMALL_TALK, FEEDBACK)
# tests/stories/test_<topic>.yml -> mix. Shop questions of every kind are FAQ; the order file's flows all
# verify the order (number + email or phone) before they tell or change anything.
MIX_OF_TOPIC: Mapping[str, str] = {
    "faq": FAQ, "opening_days": FAQ, "products": FAQ, "referrals": FAQ,
    "orders": ORDERS, "smalltalk": SMALL_TALK, "feedback": FEEDBACK,
}
# [text](entity), [text](entity:value) and [text]{"entity": ...}: the customer typed only the text.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Story:
    name: str
    source: str  # the file's name
    mix: str
    messages: Tuple[str, ...]


@dataclass(frozen=True)
class LeftOut:
    name: str
    source: str
    reason: str


def typed_text(annotated: str) -> str:
    """What the customer typed: the training-data text without its entity annotations."""
    return _ANNOTATION.sub(r"\1", annotated).strip()


def mix_of(path: Path) -> Optional[str]:
    return MIX_OF_TOPIC.get(path.stem.removeprefix("test_"))


def user_messages(steps: Sequence[Dict[str, Any]]) -> Optional[List[str]]:
    """The story's user messages in order; None if a user step has only an intent and no text."""
    messages = []
    for step in steps:
        if "user" in step:
            messages.append(typed_text(str(step["user"])))
        elif "intent" in step:
            return None
    return messages


def stories_of_file(path: Path) -> Tuple[List[Story], List[LeftOut]]:
    mix = mix_of(path)
    document = yaml.safe_load(path.read_text()) or {}
    stories: List[Story] = []
    left_out: List[LeftOut] = []
    for entry in document.get("stories") or []:
        name = str(entry.get("story", "?"))
        messages = user_messages(entry.get("steps") or [])
        if mix is None:
            left_out.append(LeftOut(name, path.name, "its file is in none of the mixes"))
        elif not messages:
            left_out.append(LeftOut(name, path.name, "a user step has an intent and no text"))
        else:
            stories.append(Story(name, path.name, mix, tuple(messages)))
    return stories, left_out


def read_stories(folder: Path) -> Tuple[List[Story], List[LeftOut]]:
    """Every story of folder/*.yml, in file order: those to replay and those left out (with why)."""
    stories: List[Story] = []
    left_out: List[LeftOut] = []
    for path in sorted(folder.glob("*.yml")):
        used, skipped = stories_of_file(path)
        stories += used
        left_out += skipped
    return stories, left_out
