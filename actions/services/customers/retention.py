"""Whether customers come back (issue 18): returning customers, repeat contacts, CSAT and NPS of new and
returning customers, and the customer retention rate of the imported orders.

Read when asked, like the rest of the owner's figures (``actions/services/figures.py``, whose range,
periods and shop time zone are used here): Rasa's ``events`` table, ``customer_conversations``,
``feedback`` and ``orders``. A conversation is what the figures page counts: a sender with a customer
message in the range (the widget's automatic "/greet" is none), beginning at its first one there. It belongs
to a customer when it proved an email or phone (``customers/identity.py``), at any time up to now; one
linked to two customers (a shared phone) counts as the first one's. Each figure carries its definition, so
the page and the report print it beside the number.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import case, inspect, null, select, union
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import naive_utc
from actions.services.figures import (
    FALLBACK_INTENT,
    Csat,
    FeedbackAnswer,
    FigureRange,
    Nps,
    automatic_opening,
    collect_feedback,
    csat_of,
    events,
    nps_of,
)

REPEAT_WINDOW = dt.timedelta(days=7)
# Messages that say nothing about what the customer came for: small talk, answers to the bot's questions,
# asking for a person or for help, rating us, and what the bot did not understand.
NOT_A_PROBLEM = frozenset({
    "greet", "goodbye", "thank_you", "affirm", "deny", "bot_challenge", "help", "out_of_scope", "inform",
    "stop", "human_handoff", "give_feedback", "how_are_you", "bot_insult", "laugh", FALLBACK_INTENT})

# One sentence each, printed beside the figure it defines.
RETURNING = ("Of the chats of known customers (who proved an email or phone in a chat), the share whose "
             "customer had written to us before it began: in another chat, or on an earlier visit from the "
             "same browser (a new chat after an hour without messages).")
REPEAT = ("Of those chats, the share whose problem (the intent of the customer's first request in "
          "it, small talk, yes/no answers and 'a person please' aside) the same customer had already asked "
          "about in the 7 days before it began.")
RATINGS = ("The ratings given in the range, by whether the chat's customer was new or returning; "
           "chats that never proved an email or phone are anonymous, a group of their own.")
NPS_RATINGS = "The 0-10 answers given in the range, in the same three groups as CSAT."
RETENTION = ("Of the customers (an order's email) who ordered in one {by} of the range, the share who "
             "ordered again in the next; orders whose email was erased are left out.")


@dataclass(frozen=True)
class Share:
    part: int
    whole: int
    definition: str

    @property
    def rate(self) -> Optional[float]:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Ratings:
    """CSAT and NPS of one group of conversations."""
    csat: Csat
    nps: Nps


@dataclass(frozen=True)
class RetentionStep:
    """Customers who ordered in [start, end], and of those, who ordered again in [next_start, next_end]."""
    start: dt.date
    end: dt.date
    next_start: dt.date
    next_end: dt.date
    customers: int
    retained: int

    @property
    def rate(self) -> Optional[float]:
        return self.retained / self.customers if self.customers else None


@dataclass(frozen=True)
class Retention:
    by: str  # week or month
    steps: Tuple[RetentionStep, ...]  # one per pair of consecutive periods of the range: the trend
    definition: str

    @property
    def overall(self) -> Share:
        """Every step's customers and returners added up."""
        return Share(sum(s.retained for s in self.steps), sum(s.customers for s in self.steps),
                     self.definition)


@dataclass(frozen=True)
class CustomerFigures:
    returning: Share
    repeat_contacts: Share
    anonymous_conversations: int  # chats of the range that proved no email or phone
    new: Ratings
    returning_ratings: Ratings
    anonymous: Ratings
    ratings_definition: str
    nps_definition: str
    retention: Retention


@dataclass(frozen=True)
class _Message:
    at: float  # epoch seconds, as Rasa stores them
    intent: Optional[str]


def _epoch(naive: dt.datetime) -> float:
    return naive.replace(tzinfo=dt.timezone.utc).timestamp()


class _History:
    """Every customer message of the customers who wrote (or rated) in the range, up to its end."""

    def __init__(self, connection: Connection, start: dt.datetime, end: dt.datetime) -> None:
        self.customer: Dict[str, int] = {}  # sender -> customer
        self._chat_of: Dict[str, Dict[int, float]] = {}
        self.senders: Dict[int, List[str]] = defaultdict(list)  # customer -> senders
        self.linked_at: Dict[str, float] = {}
        self.messages: Dict[str, List[_Message]] = defaultdict(list)  # sender -> messages, oldest first
        # sender -> each chat's first customer message in the range: a browser keeps one conversation for
        # all its visits, and Rasa starts a session (a chat) in it after an hour without messages
        self.chats: Dict[str, List[float]] = defaultdict(list)
        has_events = inspect(connection).has_table("events")
        e, links = events.c, t.customer_conversations.c
        writers = (select(e.sender_id).where(e.type_name == "user", e.timestamp >= start.timestamp(),
                                             e.timestamp < end.timestamp()) if has_events else None)
        asked = select(t.feedback.c.conversation_id).where(t.feedback.c.created_at >= naive_utc(start),
                                                            t.feedback.c.created_at < naive_utc(end))
        seen = union(writers, asked) if writers is not None else asked
        customers = select(links.customer_id).where(links.conversation_id.in_(seen))
        for sender, customer, linked in connection.execute(
                select(links.conversation_id, links.customer_id, links.linked_at)
                .where(links.customer_id.in_(customers)).order_by(links.linked_at, links.customer_id)):
            if sender not in self.customer:
                self.customer[sender] = customer
                self.senders[customer].append(sender)
                self.linked_at[sender] = _epoch(linked)
        if not has_events:
            return
        # Only greet messages can be the automatic opening: the JSON of the others is not read.
        data = case((e.intent_name == "greet", e.data), else_=null())
        theirs = union(writers, select(links.conversation_id).where(links.customer_id.in_(customers)))
        rows = connection.execute(
            select(e.sender_id, e.timestamp, e.intent_name, data)
            .where(e.type_name == "user", e.timestamp < end.timestamp(), e.sender_id.in_(theirs))
            .order_by(e.timestamp, e.id))
        sessions: Dict[str, List[float]] = defaultdict(list)
        for sender, moment in connection.execute(
                select(e.sender_id, e.timestamp).where(e.type_name == "session_started",
                                                      e.timestamp < end.timestamp(), e.sender_id.in_(theirs))
                .order_by(e.timestamp)):
            sessions[sender].append(moment)
        for sender, moment, intent, text in rows:
            if automatic_opening(text):
                continue
            self.messages[sender].append(_Message(moment, intent))
            if moment >= start.timestamp():
                chat = bisect.bisect_right(sessions[sender], moment)  # the sessions begun by then
                if chat not in self._chat_of.setdefault(sender, {}):
                    self._chat_of[sender][chat] = moment
                    self.chats[sender].append(moment)

    def _customer_messages(self, customer: int) -> List[_Message]:
        return [m for s in self.senders[customer] for m in self.messages[s]]

    def returning(self, customer: int, moment: float) -> bool:
        """Whether the customer wrote before ``moment``, or proved themselves in a chat with no messages."""
        return (any(m.at < moment for m in self._customer_messages(customer))
                or any(self.linked_at[s] < moment and not self.messages[s] for s in self.senders[customer]))

    def problem(self, sender: str, since: float, until: float) -> Optional[str]:
        return next((m.intent for m in self.messages[sender]
                     if since <= m.at < until and m.intent and m.intent not in NOT_A_PROBLEM), None)

    def chat_began(self, sender: str, moment: float) -> Optional[float]:
        """When the chat of ``sender`` that ``moment`` falls in began (its first message in the range)."""
        return max((began for began in self.chats.get(sender, []) if began <= moment), default=None)

    def repeated(self, customer: int, problem: str, moment: float) -> bool:
        since = moment - REPEAT_WINDOW.total_seconds()
        return any(since <= m.at < moment and m.intent == problem for m in self._customer_messages(customer))


def _ratings(answers: Sequence[FeedbackAnswer]) -> Ratings:
    return Ratings(csat_of(answers), nps_of(answers))


def _orders_by_period(connection: Connection, periods: Sequence[Tuple[dt.date, dt.date]], zone: ZoneInfo,
                      start: dt.datetime, end: dt.datetime) -> List[Set[str]]:
    o = t.orders.c
    buyers: List[Set[str]] = [set() for _ in periods]
    firsts = [first for first, _ in periods]
    for email, placed in connection.execute(select(o.email, o.placed_at).where(
            o.placed_at >= naive_utc(start), o.placed_at < naive_utc(end))):
        key = (email or "").strip().lower()
        if not key:  # erased with the customer's other personal fields
            continue
        day = placed.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
        index = max(i for i, first in enumerate(firsts) if first <= day)
        buyers[index].add(key)
    return buyers


def _retention(connection: Connection, zone: ZoneInfo, figure_range: FigureRange) -> Retention:
    """Per week, or per month when the figures are by month (a day is too short to come back in)."""
    by = "month" if figure_range.by == "month" else "week"
    periods = FigureRange(figure_range.start, figure_range.end, by).periods()
    start, end = figure_range.utc_bounds(zone)
    buyers = _orders_by_period(connection, periods, zone, start, end)
    pairs = zip(periods, periods[1:], buyers, buyers[1:], strict=False)  # each period with the next
    steps = tuple(RetentionStep(first[0], first[1], second[0], second[1], len(before), len(before & after))
                  for first, second, before, after in pairs)
    return Retention(by, steps, RETENTION.format(by=by))


def collect_customer_figures(engine: Engine, zone: ZoneInfo, figure_range: FigureRange,
                             keep: Optional[Callable[[str], bool]] = None) -> CustomerFigures:
    """The range's customer figures, read from the database now; with ``keep``, only the chats and ratings of
    the conversations it says yes to (one channel's: what they wrote before on any channel still counts)."""
    start, end = figure_range.utc_bounds(zone)
    mine = keep or (lambda _: True)
    answers = [a for a in collect_feedback(engine, zone, figure_range)
               if a.kind in ("csat", "nps") and mine(a.conversation_id)]
    with engine.connect() as connection:
        history = _History(connection, start, end)
        retention = _retention(connection, zone, figure_range)
    returning: Dict[Tuple[str, float], bool] = {}
    repeats = anonymous = 0
    for sender, chats in history.chats.items():
        if not mine(sender):
            continue
        customer = history.customer.get(sender)
        if customer is None:
            anonymous += len(chats)
            continue
        for began, ended in zip(chats, [*chats[1:], float("inf")], strict=True):
            returning[(sender, began)] = history.returning(customer, began)
            problem = history.problem(sender, began, ended)
            repeats += bool(problem and history.repeated(customer, problem, began))
    groups: Dict[str, List[FeedbackAnswer]] = defaultdict(list)
    for answer in answers:
        customer = history.customer.get(answer.conversation_id)
        if customer is None:
            groups["anonymous"].append(answer)
            continue
        chat = history.chat_began(answer.conversation_id, answer.at.timestamp())
        came_back = returning.get((answer.conversation_id, chat)) if chat is not None else None
        if came_back is None:  # rated in the range without writing in it
            came_back = history.returning(customer, answer.at.timestamp())
        groups["returning" if came_back else "new"].append(answer)
    return CustomerFigures(
        returning=Share(sum(returning.values()), len(returning), RETURNING),
        repeat_contacts=Share(repeats, len(returning), REPEAT),
        anonymous_conversations=anonymous,
        new=_ratings(groups["new"]),
        returning_ratings=_ratings(groups["returning"]),
        anonymous=_ratings(groups["anonymous"]),
        ratings_definition=RATINGS,
        nps_definition=NPS_RATINGS,
        retention=retention,
    )
