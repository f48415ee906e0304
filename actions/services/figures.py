"""The owner's figures: conversations, containment, fallbacks, handoff times, CSAT, NPS, comments, thumbs.

Everything is computed when asked, from Rasa's tracker store (its ``events`` table, read with SQLAlchemy
Core: no Rasa imports) and the project's ``handoffs`` and ``feedback`` tables in the same database, so the
figures survive a restart and agree between web processes. Days are the shop's local days; weeks start on
Monday; months are calendar months. A fresh database without an ``events`` table (no conversation yet) gives
zeros.

Definitions (README.md, "Owner figures"):

- a conversation: a sender with at least one customer message in the range, on the day of its first one
  there. The widget's automatic "/greet" when it opens is not a customer message: a widget opened and
  closed without a word is no conversation, and it counts in no message figure.
- containment: the share of those conversations with no handoff at all; handoff rate: the rest.
- fallback rate: the share of the customer messages the bot read that its fallback caught (intent
  ``nlu_fallback``, unless a form took the message as the answer to its question). Messages written to
  a person while they had the chat have no intent: they make a conversation, but count in no message
  figure.
- first response: claimed - created, over the handoffs created in the range that a person took (or
  answered by email); resolution: closed - created, over those resolved or handed back.
- CSAT: the 1-5 ratings (declined ones apart); NPS: % promoters (9-10) - % detractors (0-6) of the 0-10
  answers (declined ones apart). Scores outside the scales are ignored (the bot never stores them).
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import case, column, distinct, inspect, null, select, table
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import naive_utc

AUTOMATIC_OPENING = "/greet"  # what the widget sends when a conversation starts; the customer typed nothing
FALLBACK_INTENT = "nlu_fallback"
FORM_ANSWER_INTENT = "inform"
CLOSED = ("resolved", "returned")
BY = ("day", "week", "month")
DEFAULT_DAYS = 28
MAX_DAYS = 366
# Dates a range may name: the arithmetic around them (the default 28 days back, a week's Monday, the
# midnight after the last day) stays inside Python's years 1-9999, which 0001-01-01 and 9999-12-31 left.
FIRST_DATE, LAST_DATE = dt.date(1970, 1, 1), dt.date(9998, 12, 31)
CSAT_SCORES = range(1, 6)
NPS_SCORES = range(0, 11)

# Rasa's SQLTrackerStore table, only the columns read here.
events = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"),
               column("intent_name"), column("action_name"), column("data"))


class FigureRangeError(ValueError):
    """A range the figures cannot be shown for; the message says what to change."""


def _date(name: str, text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise FigureRangeError(f"{name}: {text!r} is not a date like 2026-06-05") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise FigureRangeError(f"{name}: {day} is not between {FIRST_DATE} and {LAST_DATE}")
    return day


@dataclass(frozen=True)
class FigureRange:
    start: dt.date
    end: dt.date  # inclusive
    by: str = "day"

    @classmethod
    def parse(cls, start: Optional[str], end: Optional[str], by: Optional[str], today: dt.date,
              max_days: Optional[int] = MAX_DAYS, names: Tuple[str, str] = ("from", "to")) -> "FigureRange":
        """From form or command-line text (``names``: what the two dates are called there); unset: the
        last DEFAULT_DAYS days up to today, by day."""
        by = (by or "day").strip()
        if by not in BY:
            raise FigureRangeError(f"by: {by!r} must be day, week or month")
        last = _date(names[1], end) if end else today
        first = _date(names[0], start) if start else last - dt.timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise FigureRangeError(f"{names[0]} ({first}) is after {names[1]} ({last})")
        chosen = cls(first, last, by)
        if max_days is not None and chosen.days > max_days:
            raise FigureRangeError(f"the range has {chosen.days} days; at most {max_days} at a time")
        return chosen

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bucket(self, day: dt.date) -> dt.date:
        """The first day of the period (day, week or month) that ``day`` falls in, clipped to the range."""
        if self.by == "day":
            return day
        first = day.replace(day=1) if self.by == "month" else day - dt.timedelta(days=day.weekday())
        return max(self.start, first)

    def _period_end(self, first: dt.date) -> dt.date:
        if self.by == "day":
            return first
        if self.by == "month":
            return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return first + dt.timedelta(days=6 - first.weekday())

    def periods(self) -> List[Tuple[dt.date, dt.date]]:
        """Every day, (Monday-based) week or calendar month of the range; the first and last week or month
        may be partial."""
        spans, first = [], self.start
        while first <= self.end:
            spans.append((first, min(self._period_end(first), self.end)))
            first = spans[-1][1] + dt.timedelta(days=1)
        return spans

    def utc_bounds(self, zone: ZoneInfo) -> Tuple[dt.datetime, dt.datetime]:
        """The range as [start, end) in aware UTC: from the shop's midnight to the midnight after ``end``."""
        def midnight(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.timezone.utc)

        return midnight(self.start), midnight(self.end + dt.timedelta(days=1))


def _rate(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


@dataclass(frozen=True)
class Durations:
    """Seconds; median and mean are None when nothing was measured."""
    count: int
    median: Optional[float]
    mean: Optional[float]

    @classmethod
    def of(cls, seconds: Sequence[float]) -> "Durations":
        if not seconds:
            return cls(0, None, None)
        return cls(len(seconds), statistics.median(seconds), statistics.fmean(seconds))


@dataclass(frozen=True)
class Answers:
    """Answers on a scale: how many gave each score, and how many said no thanks."""

    distribution: Mapping[int, int]  # score -> answers
    declined: int

    @property
    def count(self) -> int:
        return sum(self.distribution.values())


@dataclass(frozen=True)
class Csat(Answers):
    """Scores 1..5."""

    @property
    def average(self) -> Optional[float]:
        return sum(s * n for s, n in self.distribution.items()) / self.count if self.count else None


@dataclass(frozen=True)
class Nps(Answers):
    """Scores 0..10."""

    @property
    def promoters(self) -> int:
        return self.distribution[9] + self.distribution[10]

    @property
    def passives(self) -> int:
        return self.distribution[7] + self.distribution[8]

    @property
    def detractors(self) -> int:
        return sum(self.distribution[s] for s in range(0, 7))

    @property
    def score(self) -> Optional[float]:
        """-100 .. +100."""
        return 100 * (self.promoters - self.detractors) / self.count if self.count else None


@dataclass(frozen=True)
class Period:
    """The figures of one day, one week, or the whole range."""
    start: dt.date
    end: dt.date
    conversations: int
    contained: int  # conversations without any handoff
    messages: int  # customer messages the bot read
    fallbacks: int  # of those, caught by the fallback
    handoffs: int  # created in the period
    first_response: Durations
    resolution: Durations
    csat: Csat
    nps: Nps
    thumbs_up: int
    thumbs_down: int

    @property
    def handed_off(self) -> int:
        return self.conversations - self.contained

    @property
    def containment_rate(self) -> Optional[float]:
        return _rate(self.contained, self.conversations)

    @property
    def handoff_rate(self) -> Optional[float]:
        return _rate(self.handed_off, self.conversations)

    @property
    def fallback_rate(self) -> Optional[float]:
        return _rate(self.fallbacks, self.messages)


@dataclass(frozen=True)
class FeedbackAnswer:
    """One row of the feedback table, its time in the shop's zone."""
    id: int
    at: dt.datetime
    conversation_id: str
    kind: str  # csat, nps, feedback, thumb
    score: Optional[int]
    comment: str
    declined: bool
    intent: str
    with_person: bool
    message_text: str


@dataclass(frozen=True)
class Comment:
    at: dt.datetime
    conversation_id: str
    kind: str
    score: Optional[int]
    text: str
    intent: str
    with_person: bool

    @property
    def detractor(self) -> bool:
        return self.kind == "nps" and self.score is not None and self.score <= 6

    @property
    def unhappy(self) -> bool:
        """A CSAT (or a give_feedback rating) of 1 or 2."""
        return self.kind in ("csat", "feedback") and self.score is not None and self.score <= 2


@dataclass(frozen=True)
class ThumbsDownGroup:
    intent: str
    count: int
    answers: Tuple[Tuple[str, int], ...]  # the rated bot answers, most often thumbed down first


@dataclass(frozen=True)
class Figures:
    range: FigureRange
    zone: ZoneInfo
    total: Period
    series: Tuple[Period, ...]  # one per day, week or month, empty ones included
    top_intents: Tuple[Tuple[str, int], ...]  # every intent of the customer messages, most frequent first
    comments: Tuple[Comment, ...]  # newest first
    thumbs_down: Tuple[ThumbsDownGroup, ...]  # most thumbed-down intent first
    csat_bot_alone: Csat  # ratings given where no person took part ...
    csat_with_person: Csat  # ... and where one did


@dataclass(frozen=True)
class _Message:
    conversation_id: str
    day: dt.date
    intent: Optional[str]  # None: written to a person, the bot did not read it


@dataclass(frozen=True)
class _Conversation:
    day: dt.date
    handed_off: bool


@dataclass(frozen=True)
class _Handoff:
    conversation_id: str
    day: dt.date
    first_response: Optional[float]
    resolution: Optional[float]


def _local(naive_utc: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return naive_utc.replace(tzinfo=dt.timezone.utc).astimezone(zone)


def automatic_opening(data: Optional[str]) -> bool:
    if not data:
        return False
    try:
        return json.loads(data).get("text") == AUTOMATIC_OPENING
    except (ValueError, AttributeError):
        return False


def _customer_messages(connection: Connection, start: dt.datetime, end: dt.datetime,
                       zone: ZoneInfo) -> List[_Message]:
    """Customer messages in [start, end), oldest first; none when Rasa has not made its table yet.

    A message the fallback classifier did not recognise but that a form took as the answer to its question
    ("it was great" to a rating, an address) was understood: it counts as ``inform``, the intent of answers.
    """
    if not inspect(connection).has_table("events"):
        return []
    e = events.c
    # Only greet messages can be the automatic opening: the JSON of the others is not read.
    data = case((e.intent_name == "greet", e.data), else_=null())
    rows = connection.execute(
        select(e.sender_id, e.timestamp, e.type_name, e.intent_name, e.action_name, data)
        .where(e.type_name.in_(("user", "action")), e.timestamp >= start.timestamp(),
               e.timestamp < end.timestamp())
        .order_by(e.sender_id, e.id)).all()
    messages = []
    for index, (sender, moment, kind, intent, _, text) in enumerate(rows):
        if kind != "user" or automatic_opening(text):
            continue
        if intent == FALLBACK_INTENT:
            following = next((r for r in rows[index + 1:] if r[0] == sender and r[2] == "action"), None)
            if following is not None and str(following[4] or "").endswith("_form"):
                intent = FORM_ANSWER_INTENT
        messages.append((moment, _Message(sender, dt.datetime.fromtimestamp(moment, zone).date(), intent)))
    return [message for _, message in sorted(messages, key=lambda pair: pair[0])]


def _handed_off(connection: Connection, start: dt.datetime, end: dt.datetime) -> Set[str]:
    """Conversations of the range that have a handoff (of any time)."""
    e, h = events.c, t.handoffs.c
    in_range = select(e.sender_id).where(e.type_name == "user", e.timestamp >= start.timestamp(),
                                         e.timestamp < end.timestamp())
    return set(connection.execute(select(distinct(h.conversation_id)).where(h.conversation_id.in_(in_range)))
               .scalars())


def _handoffs(connection: Connection, start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> List[_Handoff]:
    h = t.handoffs.c
    rows = connection.execute(select(h.conversation_id, h.status, h.created_at, h.claimed_at, h.closed_at)
                              .where(h.created_at >= naive_utc(start), h.created_at < naive_utc(end)))
    found = []
    for conversation_id, status, created, claimed, closed in rows:
        first = (claimed - created).total_seconds() if claimed else None
        resolution = (closed - created).total_seconds() if closed and status in CLOSED else None
        found.append(_Handoff(conversation_id, _local(created, zone).date(), first, resolution))
    return found


def _answers(connection: Connection, start: dt.datetime, end: dt.datetime,
             zone: ZoneInfo) -> List[FeedbackAnswer]:
    f = t.feedback.c
    rows = connection.execute(
        select(t.feedback).where(f.created_at >= naive_utc(start), f.created_at < naive_utc(end))
        .order_by(f.created_at, f.id)).mappings()
    return [FeedbackAnswer(r["id"], _local(r["created_at"], zone), r["conversation_id"], r["kind"],
                           r["score"], r["comment"] or "", bool(r["declined"]), r["intent"] or "",
                           bool(r["with_person"]), r["message_text"] or "")
            for r in rows]


def collect_feedback(engine: Engine, zone: ZoneInfo, figure_range: FigureRange) -> List[FeedbackAnswer]:
    """Every rating, comment and thumb given in the range, oldest first."""
    start, end = figure_range.utc_bounds(zone)
    with engine.connect() as connection:
        return _answers(connection, start, end, zone)


def _tally(answers: Iterable[FeedbackAnswer], kind: str, scores: Iterable[int]) -> Tuple[Dict[int, int], int]:
    """How many answers of this kind gave each score on its scale, and how many declined."""
    distribution, declined = dict.fromkeys(scores, 0), 0
    for a in answers:
        if a.kind != kind:
            continue
        if a.declined:
            declined += 1
        elif a.score in distribution:
            distribution[a.score] += 1
    return distribution, declined


def csat_of(answers: Iterable[FeedbackAnswer]) -> Csat:
    return Csat(*_tally(answers, "csat", CSAT_SCORES))


def nps_of(answers: Iterable[FeedbackAnswer]) -> Nps:
    return Nps(*_tally(answers, "nps", NPS_SCORES))


def _period(start: dt.date, end: dt.date, conversations: Sequence[_Conversation],
            messages: Sequence[_Message], handoffs: Sequence[_Handoff],
            answers: Sequence[FeedbackAnswer]) -> Period:
    thumbs = [a.score or 0 for a in answers if a.kind == "thumb" and not a.declined]
    read = [m for m in messages if m.intent is not None]
    return Period(
        start, end,
        conversations=len(conversations),
        contained=sum(not c.handed_off for c in conversations),
        messages=len(read),
        fallbacks=sum(m.intent == FALLBACK_INTENT for m in read),
        handoffs=len(handoffs),
        first_response=Durations.of([h.first_response for h in handoffs if h.first_response is not None]),
        resolution=Durations.of([h.resolution for h in handoffs if h.resolution is not None]),
        csat=csat_of(answers),
        nps=nps_of(answers),
        thumbs_up=sum(score > 0 for score in thumbs),
        thumbs_down=sum(score < 0 for score in thumbs),
    )


def _comments(answers: Iterable[FeedbackAnswer]) -> Tuple[Comment, ...]:
    given = [a for a in answers if a.kind in ("csat", "nps", "feedback") and a.comment.strip()]
    given.sort(key=lambda a: (a.at, a.id), reverse=True)
    return tuple(Comment(a.at, a.conversation_id, a.kind, a.score, a.comment.strip(), a.intent, a.with_person)
                 for a in given)


def _thumbs_down(answers: Iterable[FeedbackAnswer]) -> Tuple[ThumbsDownGroup, ...]:
    by_intent: Dict[str, Counter[str]] = defaultdict(Counter)
    for a in answers:
        if a.kind == "thumb" and (a.score or 0) < 0:
            by_intent[a.intent][a.message_text] += 1
    groups = [ThumbsDownGroup(intent, sum(texts.values()),
                              tuple(sorted(texts.items(), key=lambda item: (-item[1], item[0]))))
              for intent, texts in by_intent.items()]
    return tuple(sorted(groups, key=lambda g: (-g.count, g.intent)))


@dataclass(frozen=True)
class FigureRows:
    """What the figures of a range are counted from, read once (the figures by channel count it again)."""
    range: FigureRange
    zone: ZoneInfo
    messages: Sequence[_Message]
    handed_off: Set[str]  # conversations of the range with a handoff
    handoffs: Sequence[_Handoff]
    answers: Sequence[FeedbackAnswer]


def read_figure_rows(engine: Engine, zone: ZoneInfo, figure_range: FigureRange) -> FigureRows:
    start, end = figure_range.utc_bounds(zone)
    with engine.connect() as connection:
        messages = _customer_messages(connection, start, end, zone)
        # no messages: nothing to look up (and Rasa's table may not exist yet)
        handed_off = _handed_off(connection, start, end) if messages else set()
        return FigureRows(figure_range, zone, messages, handed_off, _handoffs(connection, start, end, zone),
                          _answers(connection, start, end, zone))


def collect_figures(engine: Engine, zone: ZoneInfo, figure_range: FigureRange,
                    keep: Optional[Callable[[str], bool]] = None) -> Figures:
    """All the owner's figures for the range, read from the database now; with ``keep``, only those of the
    conversations it says yes to (one channel's)."""
    return figures_of(read_figure_rows(engine, zone, figure_range), keep)


def figures_of(rows: FigureRows, keep: Optional[Callable[[str], bool]] = None) -> Figures:
    figure_range, mine = rows.range, keep or (lambda _: True)
    messages = [m for m in rows.messages if mine(m.conversation_id)]
    handoffs = [h for h in rows.handoffs if mine(h.conversation_id)]
    answers = [a for a in rows.answers if mine(a.conversation_id)]
    first_days: Dict[str, dt.date] = {}
    for message in messages:  # oldest first: the first one seen is the conversation's day
        first_days.setdefault(message.conversation_id, message.day)
    conversations = [_Conversation(day, cid in rows.handed_off) for cid, day in first_days.items()]

    bucket = figure_range.bucket
    grouped_conversations: Dict[dt.date, List[_Conversation]] = defaultdict(list)
    grouped_messages: Dict[dt.date, List[_Message]] = defaultdict(list)
    grouped_handoffs: Dict[dt.date, List[_Handoff]] = defaultdict(list)
    grouped_answers: Dict[dt.date, List[FeedbackAnswer]] = defaultdict(list)
    for c in conversations:
        grouped_conversations[bucket(c.day)].append(c)
    for m in messages:
        grouped_messages[bucket(m.day)].append(m)
    for h in handoffs:
        grouped_handoffs[bucket(h.day)].append(h)
    for a in answers:
        grouped_answers[bucket(a.at.date())].append(a)
    series = tuple(_period(first, last, grouped_conversations[first], grouped_messages[first],
                           grouped_handoffs[first], grouped_answers[first])
                   for first, last in figure_range.periods())
    intents = Counter(m.intent for m in messages if m.intent is not None)
    return Figures(
        range=figure_range,
        zone=rows.zone,
        total=_period(figure_range.start, figure_range.end, conversations, messages, handoffs, answers),
        series=series,
        top_intents=tuple(sorted(intents.items(), key=lambda item: (-item[1], item[0]))),
        comments=_comments(answers),
        thumbs_down=_thumbs_down(answers),
        csat_bot_alone=csat_of(a for a in answers if not a.with_person),
        csat_with_person=csat_of(a for a in answers if a.with_person),
    )
