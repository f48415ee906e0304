"""The trainer's inbox: customer messages the bot did not handle well, grouped with similar ones.

A message is missed when
  * the fallback caught it ("Did you mean…?"), unless a form took it as the answer to its question;
  * the intent was picked with low confidence (below LOW_CONFIDENCE);
  * it was refused as out of scope: the questions customers ask that the bot cannot answer (a content gap
    to fill, or truly not the shop's business: then dismissed);
  * the customer asked for a person right after it;
  * the customer rephrased it right after (the next message, within REPHRASE_SECONDS, means nearly the
    same: cosine of the sentence embeddings at least REPHRASE_SIMILARITY);
  * the customer gave the bot's answer to it a thumbs down.

Read from Rasa's tracker store (the ``events`` table) and our feedback table; a message already decided
(labelled, or dismissed as out of scope or noise) leaves the inbox. Similar messages are grouped by their
sentence embeddings (a message joins the first group whose first message is at least GROUP_SIMILARITY
alike), biggest group first; one decision applies to a whole group.

Labelling writes the messages as examples of the chosen intent into data/nlu (bot/trainer/nlu_files.py)
and records the decision; the repository stays the source of truth. Personal data does not travel into
the training data: an email address or phone number found in a message is written as a made-up one,
marked as that entity; an order number is kept and marked as ``order_id``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np
from sqlalchemy import and_, inspect, select
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import naive_utc
from actions.services.figures import FALLBACK_INTENT, events
from bot.trainer.contacts import anonymised
from bot.trainer.conversation_log import LOW_CONFIDENCE, event_data, typed
from bot.trainer.nlu_files import ExampleRefused, NluFiles, plain_text, same_text_key

REPHRASE_SECONDS = 120
REPHRASE_SIMILARITY = 0.75
GROUP_SIMILARITY = 0.7
HANDOFF_INTENT = "human_handoff"
OUT_OF_SCOPE = "out_of_scope"
DECISIONS = ("labelled", "out_of_scope", "noise")
MARKED = ("order_id", "email", "phone")  # entities a training example keeps marked
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors, one row each


class InboxError(ValueError):
    """A decision that cannot be taken as asked; the message says why."""


@dataclass
class Missed:
    event_id: int
    conversation_id: str
    text: str
    at: dt.datetime                 # UTC, naive
    intent: str                     # what the bot took it for
    confidence: float
    suggestions: List[Tuple[str, float]]  # the model's top three in-scope intents
    entities: List[Dict[str, Any]]
    reasons: List[str] = field(default_factory=list)


@dataclass
class Group:
    messages: List[Missed]

    @property
    def id(self) -> int:
        """The id of its first (oldest) message: what the trainer names to decide for the group."""
        return self.messages[0].event_id

    def suggestions(self) -> List[Tuple[str, float]]:
        """The model's top three over the group: mean confidence of each intent ranked for its messages."""
        totals: Dict[str, float] = defaultdict(float)
        for message in self.messages:
            for intent, confidence in message.suggestions:
                totals[intent] += confidence / len(self.messages)
        return sorted(totals.items(), key=lambda kv: -kv[1])[:3]


class Inbox:
    def __init__(self, engine: Engine, embed: Embed) -> None:
        self.engine = engine
        self.embed = embed

    def missed(self, since: dt.datetime) -> List[Missed]:
        """Every undecided missed message since ``since`` (UTC, naive), oldest first."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("events"):
                return []
            rows = connection.execute(
                select(events.c.id, events.c.sender_id, events.c.type_name, events.c.timestamp,
                       events.c.intent_name, events.c.action_name, events.c.data)
                .where(events.c.type_name.in_(("user", "bot", "action")),
                       events.c.timestamp >= since.replace(tzinfo=dt.timezone.utc).timestamp())
                .order_by(events.c.sender_id, events.c.id)).all()
            thumbs_down = connection.execute(
                select(t.feedback.c.conversation_id, t.feedback.c.message_text)
                .where(t.feedback.c.kind == "thumb", t.feedback.c.score < 0,
                       t.feedback.c.created_at >= since)).all()
            decided = set(connection.execute(select(t.inbox_decisions.c.event_id)).scalars())
        by_conversation: Dict[str, List[Any]] = defaultdict(list)
        for row in rows:
            by_conversation[row.sender_id].append(row)
        disliked: Dict[str, Set[str]] = defaultdict(set)
        for conversation_id, text in thumbs_down:
            disliked[conversation_id].add(text)
        found: List[Missed] = []
        pairs: List[Tuple[Missed, str]] = []
        for conversation_id, conversation in by_conversation.items():
            found += self._missed_in(conversation, disliked.get(conversation_id, set()), decided, pairs)
        self._mark_rephrased(pairs)
        return sorted((m for m in found if m.reasons), key=lambda m: (m.at, m.event_id))

    def _missed_in(self, rows: List[Any], disliked: Set[str], decided: Set[int],
                   pairs: List[Tuple[Missed, str]]) -> List[Missed]:
        found: List[Missed] = []
        for index, row in enumerate(rows):
            if row.type_name != "user" or row.id in decided:
                continue
            data = event_data(row.data)
            text = str(data.get("text") or "")
            if not typed(text):
                continue
            message = _message(row, data)
            later = rows[index + 1:]
            next_action = next((r for r in later if r.type_name == "action"
                                and r.action_name != "action_listen"), None)
            taken_by_form = next_action is not None and str(next_action.action_name or "").endswith("_form")
            if taken_by_form:
                pass  # the form took it as its answer: handled
            elif message.intent == FALLBACK_INTENT:
                message.reasons.append("fallback")
            else:
                if message.intent == OUT_OF_SCOPE:
                    # What the customer got, first: a content gap, or truly not the shop's; doubtful or not.
                    message.reasons.append("refused as out of scope")
                if message.confidence < LOW_CONFIDENCE:
                    message.reasons.append("low confidence")
            next_user = next((r for r in later if r.type_name == "user"), None)
            answers = [r for r in later[:later.index(next_user)] if r.type_name == "bot"] \
                if next_user is not None else [r for r in later if r.type_name == "bot"]
            if any(str(event_data(r.data).get("text") or "") in disliked for r in answers):
                message.reasons.append("thumbs down")
            if next_user is not None and message.intent != HANDOFF_INTENT:
                following = event_data(next_user.data)
                if next_user.intent_name == HANDOFF_INTENT:
                    message.reasons.append("asked for a person next")
                elif typed(str(following.get("text") or "")) and \
                        next_user.timestamp - row.timestamp <= REPHRASE_SECONDS:
                    pairs.append((message, str(following["text"])))
            found.append(message)
        return found

    def _mark_rephrased(self, pairs: List[Tuple[Missed, str]]) -> None:
        pairs = [(m, following) for m, following in pairs if following.strip().casefold()
                 != m.text.strip().casefold()]
        if not pairs:
            return
        first = self.embed([m.text for m, _ in pairs])
        second = self.embed([following for _, following in pairs])
        for (message, _), similarity in zip(pairs, (first * second).sum(axis=1), strict=True):
            if similarity >= REPHRASE_SIMILARITY:
                message.reasons.append("rephrased next")

    def groups(self, since: dt.datetime) -> List[Group]:
        """The missed messages grouped with similar ones, biggest group first (then the oldest)."""
        messages = self.missed(since)
        if not messages:
            return []
        vectors = self.embed([m.text for m in messages])
        leaders: List[int] = []
        members: Dict[int, List[int]] = {}
        for index, vector in enumerate(vectors):
            if leaders:
                similarity = vectors[leaders] @ vector
                best = int(similarity.argmax())
                if similarity[best] >= GROUP_SIMILARITY:
                    members[leaders[best]].append(index)
                    continue
            leaders.append(index)
            members[index] = [index]
        groups = [Group([messages[i] for i in members[leader]]) for leader in leaders]
        return sorted(groups, key=lambda g: (-len(g.messages), g.messages[0].at))

    def group_of(self, event_id: int, since: dt.datetime) -> Group:
        for group in self.groups(since):
            if any(m.event_id == event_id for m in group.messages):
                return group
        raise InboxError(f"message {event_id} is not in the inbox (decided already, or not missed)")

    def label(self, group: Group, intent: str, data: NluFiles, by: str,
              only: Optional[Iterable[int]] = None,
              marked: Optional[Mapping[int, str]] = None) -> Tuple[List[str], List[str]]:
        """Write the group's messages (or ``only`` those ids) as examples of ``intent`` and record the
        decision. ``marked``: the trainer's entity marks on some of them, by message id (the example with
        ``[words](entity)`` added; the words themselves may not change). Returns (examples written, texts
        already examples of that intent). Refused as a whole (ExampleRefused, nothing written) when one of
        them is an example of another intent, or a marked one changes the customer's words."""
        chosen = _chosen(group, only)
        marked = dict(marked or {})
        strangers = set(marked) - {m.event_id for m in chosen}
        if strangers:
            raise InboxError("marks for messages not being labelled: "
                             + ", ".join(map(str, sorted(strangers))))
        owners = data.owner_of()
        new: Dict[str, str] = {}
        already: List[str] = []
        for message in chosen:
            example = _with_marks(training_example(message), marked.get(message.event_id))
            key = same_text_key(example)
            owner = owners.get(key)
            if owner is not None and owner[0] == intent:
                already.append(message.text)
            elif owner is not None:
                raise ExampleRefused(f"{message.text!r} is already an example of {owner[0]} "
                                     f"({owner[1].name}); leave it out with --only")
            else:
                new.setdefault(key, example)
        if new:
            data.add(intent, list(new.values()))
        decision = OUT_OF_SCOPE if intent == OUT_OF_SCOPE else "labelled"
        self._record(chosen, decision, intent, by)
        return list(new.values()), already

    def dismiss(self, group: Group, by: str, only: Optional[Iterable[int]] = None) -> int:
        """Noise: nothing to learn from these messages; they leave the inbox. Returns how many."""
        chosen = _chosen(group, only)
        self._record(chosen, "noise", "", by)
        return len(chosen)

    def _record(self, messages: Sequence[Missed], decision: str, intent: str, by: str) -> None:
        now = naive_utc(dt.datetime.now(dt.timezone.utc))
        with self.engine.begin() as connection:
            _insert_decisions(connection, messages, decision, intent, by, now)


def _insert_decisions(connection: Connection, messages: Sequence[Missed], decision: str, intent: str,
                      by: str, now: dt.datetime) -> None:
    existing = set(connection.execute(select(t.inbox_decisions.c.event_id).where(and_(
        t.inbox_decisions.c.event_id.in_([m.event_id for m in messages])))).scalars())
    rows = [{"event_id": m.event_id, "conversation_id": m.conversation_id, "text": m.text,
             "decision": decision, "intent": intent, "decided_by": by, "decided_at": now}
            for m in messages if m.event_id not in existing]
    if rows:
        connection.execute(t.inbox_decisions.insert(), rows)


def _chosen(group: Group, only: Optional[Iterable[int]]) -> List[Missed]:
    if only is None:
        return list(group.messages)
    wanted = set(only)
    chosen = [m for m in group.messages if m.event_id in wanted]
    strangers = wanted - {m.event_id for m in chosen}
    if strangers:
        raise InboxError(f"not in this group: {', '.join(str(i) for i in sorted(strangers))}")
    return chosen


def _message(row: Any, data: Dict[str, Any]) -> Missed:
    parse = data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    ranking = [(str(r.get("name")), float(r.get("confidence") or 0.0))
               for r in parse.get("intent_ranking") or [] if isinstance(r, dict)]
    suggestions = [(name, confidence) for name, confidence in ranking if name != FALLBACK_INTENT][:3]
    return Missed(event_id=int(row.id), conversation_id=str(row.sender_id), text=str(data.get("text")),
                  at=dt.datetime.fromtimestamp(row.timestamp, dt.timezone.utc).replace(tzinfo=None),
                  intent=str(intent.get("name") or row.intent_name or ""),
                  confidence=float(intent.get("confidence") or 0.0), suggestions=suggestions,
                  entities=[e for e in parse.get("entities") or [] if isinstance(e, dict)])


def _with_marks(example: str, marked: Optional[str]) -> str:
    """The trainer's marked example, if it keeps the customer's words (as the training example has them)."""
    if marked is None or not marked.strip():
        return example
    marked = " ".join(marked.split())
    if same_text_key(marked) != same_text_key(example):
        raise ExampleRefused(f"{marked!r} changes the customer's words ({plain_text(example)!r}); only "
                             "entity marks [words](entity) may be added")
    return marked


def training_example(message: Missed) -> str:
    """The message as a training example: emails and phone numbers made up (bot/trainer/contacts.py), then
    order numbers, emails and phones marked as their entities."""
    text, entities = anonymised(message.text, message.entities)
    spans = sorted(((int(e["start"]), int(e["end"]), str(e["entity"])) for e in entities
                    if e.get("entity") in MARKED), reverse=True)
    last_start = len(text) + 1
    for start, end, entity in spans:
        if not 0 <= start < end <= len(text) or end > last_start:
            continue  # overlapping or out of range: leave the text as typed
        text = f"{text[:start]}[{text[start:end]}]({entity}){text[end:]}"
        last_start = start
    return " ".join(text.split())
