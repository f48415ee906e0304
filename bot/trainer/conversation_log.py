"""Every conversation, as the trainer searches them: one summary per conversation, filtered.

Read from Rasa's tracker store (the ``events`` table: customer and bot messages in the date range) and
our tables: handoffs, CSAT ratings and thumbs (feedback), and the trainer's own reviews and tags
(bot/trainer/conversation_reviews.py). A conversation is one sender id; it is in a date range when a
customer or bot message of it is, and its summary counts the messages in the range.

A filter keeps a conversation when all of its conditions hold: a customer message taken for an intent,
caught by the fallback or answered with low confidence (the inbox's definition, bot/trainer/inbox.py);
a thumbs down; a handoff to a person (or a ticket); a CSAT rating; the channel; reviewed or not; a tag;
words in what the customer or the bot said (case-insensitive).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.figures import AUTOMATIC_OPENING, FALLBACK_INTENT, events
from bot.trainer.conversation_reviews import Review, reviews_of

LOW_CONFIDENCE = 0.5  # below it, a customer message counts as understood with low confidence (the inbox too)


@dataclass(frozen=True)
class ConversationFilter:
    since: dt.datetime                   # UTC, naive: messages from
    until: dt.datetime                   # UTC, naive: messages before
    intent: str = ""
    fallback: bool = False
    low_confidence: bool = False
    thumbs_down: bool = False
    handoff: bool = False
    rating: Optional[int] = None         # CSAT score 1-5 given in the conversation; 0: any rating
    channel: str = ""
    reviewed: Optional[bool] = None
    tag: str = ""
    text: str = ""


@dataclass
class Summary:
    conversation_id: str
    started: dt.datetime                 # UTC, naive: its first message in the range
    last: dt.datetime
    channels: Set[str] = field(default_factory=set)
    first_words: str = ""                # the customer's first typed message
    messages: int = 0                    # customer messages (typed or tapped)
    intents: Counter = field(default_factory=Counter)
    fallbacks: int = 0
    low_confidence: int = 0
    thumbs_down: int = 0
    handoff: bool = False
    ratings: List[int] = field(default_factory=list)   # CSAT scores
    review: Review = field(default_factory=Review)
    said: List[str] = field(default_factory=list)      # every text, for the text search


def event_data(text: Optional[str]) -> Dict[str, Any]:
    """A stored event's JSON as a dict ({} when it is not one)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def typed(text: str) -> bool:
    """Typed by the customer: not a button payload nor the widget's automatic opening."""
    return bool(text.strip()) and not text.startswith("/") and text != AUTOMATIC_OPENING


def stored_at(timestamp: float) -> dt.datetime:
    """Rasa's event timestamp as our tables keep moments: UTC, without a zone."""
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)


class ConversationLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(self, wanted: ConversationFilter) -> List[Summary]:
        """The conversations the filter keeps, the most recent first."""
        return self.search_with_channels(wanted)[0]

    def search_with_channels(self, wanted: ConversationFilter) -> Tuple[List[Summary], List[str]]:
        """search, and the channels customers wrote on in the range (the filter's choices), from one read."""
        summaries = self._summaries(wanted.since, wanted.until).values()
        found = sorted((s for s in summaries if _keeps(wanted, s)), key=lambda s: (s.last, s.conversation_id),
                       reverse=True)
        return found, sorted({channel for s in summaries for channel in s.channels})

    def _summaries(self, since: dt.datetime, until: dt.datetime) -> Dict[str, Summary]:
        start = since.replace(tzinfo=dt.timezone.utc).timestamp()
        end = until.replace(tzinfo=dt.timezone.utc).timestamp()
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("events"):
                return {}
            rows = connection.execute(
                select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
                .where(events.c.type_name.in_(("user", "bot")), events.c.timestamp >= start,
                       events.c.timestamp < end)
                .order_by(events.c.id)).all()
            summaries: Dict[str, Summary] = {}
            for row in rows:
                summary = summaries.get(row.sender_id)
                if summary is None:
                    summary = summaries[row.sender_id] = Summary(row.sender_id, stored_at(row.timestamp),
                                                                 stored_at(row.timestamp))
                _count(summary, row.type_name, row.timestamp, event_data(row.data))
            _add_our_tables(connection, summaries)
        return summaries


def _count(summary: Summary, kind: str, timestamp: float, data: Dict[str, Any]) -> None:
    summary.last = max(summary.last, stored_at(timestamp))
    text = str(data.get("text") or "")
    if kind == "bot":
        if text:
            summary.said.append(text)
        return
    if data.get("input_channel"):
        summary.channels.add(str(data["input_channel"]))
    if text == AUTOMATIC_OPENING:
        return
    summary.messages += 1
    intent = (data.get("parse_data") or {}).get("intent") or {}
    name, confidence = str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)
    if name:
        summary.intents[name] += 1
    if not typed(text):
        return
    summary.said.append(text)
    summary.first_words = summary.first_words or text
    if name == FALLBACK_INTENT:
        summary.fallbacks += 1
    elif confidence < LOW_CONFIDENCE:
        summary.low_confidence += 1


def _add_our_tables(connection: Connection, summaries: Dict[str, Summary]) -> None:
    ids = list(summaries)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for conversation_id, kind, score in connection.execute(
                select(t.feedback.c.conversation_id, t.feedback.c.kind, t.feedback.c.score)
                .where(t.feedback.c.conversation_id.in_(chunk), t.feedback.c.kind.in_(("csat", "thumb")))):
            if kind == "thumb" and score is not None and score < 0:
                summaries[conversation_id].thumbs_down += 1
            elif kind == "csat" and score is not None:
                summaries[conversation_id].ratings.append(int(score))
        for conversation_id in connection.execute(
                select(t.handoffs.c.conversation_id).where(t.handoffs.c.conversation_id.in_(chunk))).scalars():
            summaries[conversation_id].handoff = True
    for conversation_id, review in reviews_of(connection, ids).items():
        summaries[conversation_id].review = review


def _keeps(wanted: ConversationFilter, summary: Summary) -> bool:
    checks: Iterable[bool] = (
        not wanted.intent or wanted.intent in summary.intents,
        not wanted.fallback or summary.fallbacks > 0,
        not wanted.low_confidence or summary.low_confidence > 0,
        not wanted.thumbs_down or summary.thumbs_down > 0,
        not wanted.handoff or summary.handoff,
        wanted.rating is None or (bool(summary.ratings) if wanted.rating == 0
                                  else wanted.rating in summary.ratings),
        not wanted.channel or wanted.channel in summary.channels,
        wanted.reviewed is None or wanted.reviewed == summary.review.reviewed,
        not wanted.tag or wanted.tag.casefold() in (tag.casefold() for tag in summary.review.tags),
        not wanted.text.strip() or any(wanted.text.strip().casefold() in said.casefold()
                                       for said in summary.said),
    )
    return all(checks)
