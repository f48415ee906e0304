"""Add a trainer's confirmed examples to the training data, the repository staying the source of truth.

    NluFiles(Path("data/nlu"), domain.intents, domain.entities).add("delivery_time",
                                                                    ["when will the beans get here"])

Each example goes at the end of its intent's ``examples: |`` block, in the file that already holds that
intent. Everything else in the file stays byte for byte as it was (layout, comments, quoting): the file is
read with a round-trip YAML parser only to find the block, the line is inserted as text, and the result is
parsed again and compared with the original, item by item, before it replaces the file (atomically).

Refused, with a message naming the reason, before anything is written: an empty or multi-line example, an
intent or entity type the domain does not declare, an example already in the data (under the same intent:
a duplicate; under another: named, since `rasa data validate` rejects an example under two intents), an
intent with no block in any file. What `rasa data validate` would reject never reaches disk.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ruamel.yaml import YAML

MAX_LENGTH = 500
_ENTITY = re.compile(r"\[([^\]\n]+)\]\(([^)\n]+)\)")
_SPACE = re.compile(r"\s+")


class ExampleRefused(ValueError):
    """An example that cannot be added; the message says why, in words a trainer understands."""


@dataclass
class Added:
    path: Path
    intent: str
    examples: List[str] = field(default_factory=list)


def plain_text(example: str) -> str:
    """The text a customer typed: entity markup ``[KC-10003](order_id)`` read as ``KC-10003``."""
    return _ENTITY.sub(lambda match: match.group(1), example)


def same_text_key(example: str) -> str:
    """Two examples with this key are the same sentence (case, spacing and entity markup aside)."""
    return _SPACE.sub(" ", plain_text(example)).strip().casefold()


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True  # type: ignore[assignment]
    return yaml


def _read(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:  # line ends as they are, for byte equality
        return handle.read()


def _blocks(text: str) -> List[Tuple[str, int, List[str]]]:
    """(intent, line index of its ``examples:`` key, its examples) for each intent block of a file."""
    document = _round_trip().load(text) or {}
    blocks = []
    for item in document.get("nlu") or []:
        if "intent" in item and "examples" in item:
            examples = [line.strip()[2:].strip() for line in str(item["examples"]).splitlines()
                        if line.strip().startswith("- ")]
            blocks.append((str(item["intent"]), item.lc.key("examples")[0], examples))
    return blocks


class NluFiles:
    """The training-data folder: where each intent's examples live, and adding to them."""

    def __init__(self, folder: Path, intents: Iterable[str], entities: Iterable[str]) -> None:
        self.folder = folder
        self.intents = set(intents)
        self.entities = set(entities)

    def files(self) -> List[Path]:
        return sorted(self.folder.glob("*.yml")) + sorted(self.folder.glob("*.yaml"))

    def _index(self) -> Tuple[Dict[str, Tuple[str, Path]], Dict[str, Path]]:
        """One read of every file: each example's key -> (intent, file) where it already stands, and the
        file that holds each intent's block."""
        owners: Dict[str, Tuple[str, Path]] = {}
        homes: Dict[str, Path] = {}
        for path in self.files():
            for intent, _, examples in _blocks(_read(path)):
                homes.setdefault(intent, path)
                for example in examples:
                    owners.setdefault(same_text_key(example), (intent, path))
        return owners, homes

    def owner_of(self) -> Dict[str, Tuple[str, Path]]:
        """Every example's key -> (intent, file) where it already stands."""
        return self._index()[0]

    def file_of(self, intent: str) -> Optional[Path]:
        return self._index()[1].get(intent)

    def check(self, intent: str, examples: Sequence[str],
              owners: Optional[Dict[str, Tuple[str, Path]]] = None) -> List[str]:
        """The examples as they will be written (trimmed), or ExampleRefused naming the first problem."""
        if intent not in self.intents:
            raise ExampleRefused(f"'{intent}' is not an intent of domain.yml")
        owners = self.owner_of() if owners is None else owners
        cleaned: List[str] = []
        seen: Dict[str, str] = {}
        for example in examples:
            text = example.strip()
            if not plain_text(text).strip():
                raise ExampleRefused("an example cannot be empty")
            if "\n" in text or "\r" in text:
                raise ExampleRefused(f"an example is one line: {text[:60]!r}")
            if len(text) > MAX_LENGTH:
                raise ExampleRefused(f"an example is at most {MAX_LENGTH} characters")
            unknown = sorted({name for _, name in _ENTITY.findall(text)} - self.entities)
            if unknown:
                raise ExampleRefused(f"{text!r} marks {', '.join(unknown)}, not an entity of domain.yml")
            key = same_text_key(text)
            if key in seen:
                raise ExampleRefused(f"{text!r} is given twice")
            if key in owners:
                where, path = owners[key]
                if where == intent:
                    raise ExampleRefused(f"{text!r} is already an example of {intent} ({path.name})")
                raise ExampleRefused(f"{text!r} is already an example of {where} ({path.name}); "
                                     f"an example can belong to one intent only")
            seen[key] = text
            cleaned.append(text)
        if not cleaned:
            raise ExampleRefused("no example given")
        return cleaned

    def add(self, intent: str, examples: Sequence[str]) -> Added:
        """Insert the examples at the end of the intent's block; the file is replaced only when the new
        text parses to the old data plus exactly these examples."""
        owners, homes = self._index()  # the folder is read once per decision
        cleaned = self.check(intent, examples, owners)
        path = homes.get(intent)
        if path is None:
            raise ExampleRefused(f"no file in {self.folder} has an examples block for {intent}")
        before = _read(path)
        after = insert_examples(before, intent, cleaned)
        _verify(before, after, intent, cleaned, path)
        _replace(path, after)
        return Added(path, intent, cleaned)


def insert_examples(text: str, intent: str, examples: Sequence[str]) -> str:
    """``text`` (one NLU file) with the examples added at the end of ``intent``'s ``examples: |`` block."""
    lines = text.splitlines(keepends=True)
    blocks = _blocks(text)
    found = [line for name, line, _ in blocks if name == intent]
    if not found:
        raise ExampleRefused(f"no examples block for {intent}")
    key_line = found[0]
    key_indent = len(lines[key_line]) - len(lines[key_line].lstrip(" "))
    last = key_line
    item_indent: Optional[str] = None
    for index in range(key_line + 1, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent <= key_indent:
            break
        last = index
        if item_indent is None and line.lstrip(" ").startswith("- "):
            item_indent = line[:indent]
    if item_indent is None:
        item_indent = " " * (key_indent + 2)
    newline = "\r\n" if lines[key_line].endswith("\r\n") else "\n"
    if not lines[last].endswith(("\n", "\r")):
        lines[last] += newline
    new_lines = [f"{item_indent}- {example}{newline}" for example in examples]
    return "".join(lines[:last + 1] + new_lines + lines[last + 1:])


def _verify(before: str, after: str, intent: str, examples: Sequence[str], path: Path) -> None:
    """The new text must read, with Rasa's own reader, as the old data plus these examples, and the
    lines around the insertion must be the old ones byte for byte."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    reader = RasaYAMLReader()
    try:
        old = reader.reads(before)
        new = reader.reads(after)
    except Exception as error:  # the reader raises YamlException and schema errors of several kinds
        raise ExampleRefused(f"{path.name} would not be valid training data: {error}") from error
    old_texts = [(m.get("intent"), m.get("text")) for m in old.intent_examples]
    new_texts = [(m.get("intent"), m.get("text")) for m in new.intent_examples]
    wanted = sorted(old_texts + [(intent, plain_text(example)) for example in examples])
    if sorted(new_texts) != wanted:
        raise ExampleRefused(f"{path.name}: the examples could not be inserted without changing others")
    removed = _lines_removed(before, after)
    if removed:
        raise ExampleRefused(f"{path.name}: inserting would change existing lines")


def _lines_removed(before: str, after: str) -> List[str]:
    import difflib

    return [line for line in difflib.ndiff(io.StringIO(before).readlines(), io.StringIO(after).readlines())
            if line.startswith("- ")]


def _replace(path: Path, text: str) -> None:
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False,
                                         encoding="utf-8", newline="")
    try:
        with handle:
            handle.write(text)
        os.chmod(handle.name, path.stat().st_mode & 0o777)
        os.replace(handle.name, path)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise
