"""What must hold after every turn of the walk, as problems in words (an empty list: all is well).

- the customer got an answer: a non-empty list of messages (never `200 []`; 202 only while a person owns
  the conversation), no empty bubble;
- neither server logged an error;
- what the bot confirmed is in the database: each confirmation it can say is matched by its words to the
  row that must already exist (the write is committed before the words are sent);
- "nothing changed" is true: no order change, return, case or audit row in that turn.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Callable, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.handoffs import HandoffQueue
from tests.bot.walker.chat import Turn

_ORDER = r"([A-Z]+-\d+)"
_EMAIL = r"([^\s@]+@[^\s@]+\.[a-z]{2,})"
HOURS = re.compile(r"\d{1,2}:\d{2}")


def reply_problems(turn: Turn, engine: Engine, sender: str) -> List[str]:
    if turn.status == 202 and HandoffQueue(engine).is_owned_by_person(sender):
        return []  # a person has the chat: the bot is rightly silent
    if turn.status != 200:
        return [f"answered with status {turn.status} {turn.detail}".rstrip()]
    if not turn.messages:
        return ["no reply: 200 with an empty list"]
    if any(not (m.get("text") or "").strip() and not m.get("image") for m in turn.messages):
        return ["a reply message without any text"]
    return []


def log_problems(turn: Turn) -> List[str]:
    return [f"the server logged an error: {turn.log[0]}"] if turn.log else []


def answers_hours(turn: Turn) -> bool:
    """Loosely: the opening-hours answer (it says when the shop is open, with times)."""
    return "open" in turn.text.lower() and bool(HOURS.search(turn.text))


def _count(engine: Engine, table, *where) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(table).where(and_(*where))
        return int(connection.execute(query).scalar() or 0)


Check = Callable[[Engine, str, Turn, "re.Match[str]"], Optional[str]]


def _case(engine: Engine, sender: str, turn: Turn, said: "re.Match[str]") -> Optional[str]:
    found = _count(engine, t.cases, t.cases.c.number == said.group(1), t.cases.c.conversation_id == sender)
    return None if found else f"said case {said.group(1)}, but no such case of this conversation is stored"


def _cancelled(engine: Engine, sender: str, turn: Turn, said: "re.Match[str]") -> Optional[str]:
    done = _count(engine, t.orders, t.orders.c.number == said.group(1), t.orders.c.status == "cancelled")
    audit = _count(engine, t.audit_log, t.audit_log.c.conversation_id == sender)
    if done and audit:
        return None
    return f"said {said.group(1)} is cancelled, but the order is not (or no audit row)"


def _change(kind: str) -> Check:
    def check(engine: Engine, sender: str, turn: Turn, said: "re.Match[str]") -> Optional[str]:
        found = _count(engine, t.order_changes, t.order_changes.c.kind == kind,
                       t.order_changes.c.conversation_id == sender)
        return None if found else f"confirmed a change ({kind}), but no order_changes row is stored"
    return check


def _returned(engine: Engine, sender: str, turn: Turn, said: "re.Match[str]") -> Optional[str]:
    found = _count(engine, t.returns, t.returns.c.conversation_id == sender)
    return None if found else "confirmed a return, but no returns row of this conversation is stored"


def _handoff(status: str) -> Check:
    def check(engine: Engine, sender: str, turn: Turn, said: "re.Match[str]") -> Optional[str]:
        where = [t.handoffs.c.conversation_id == sender, t.handoffs.c.status == status]
        email = said.groupdict().get("email")
        if email:
            where.append(t.handoffs.c.contact_email == email.rstrip(".,)"))
        found = _count(engine, t.handoffs, *where)
        to = f" to {email}" if email else ""
        return None if found else f"promised a {status} handoff{to}, but none is stored"
    return check


def _feedback(kind: str, **expected) -> Check:
    def check(engine: Engine, sender: str, turn: Turn, said: "re.Match[str]") -> Optional[str]:
        where = [t.feedback.c.conversation_id == sender, t.feedback.c.kind == kind]
        if expected.get("declined"):
            where.append(t.feedback.c.declined.is_(True))
        if expected.get("scored"):
            where.append(t.feedback.c.score.isnot(None))
        if expected.get("comment"):
            where.append(t.feedback.c.comment != "")
        found = _count(engine, t.feedback, *where)
        return None if found else f"thanked for {kind} feedback {expected or ''}, but no such row is stored"
    return check


# What the bot can confirm, by its words, and the row that must exist by then.
CONFIRMATIONS: Sequence[Tuple["re.Pattern[str]", Check]] = (
    (re.compile(r"\bcase (C-\d+)"), _case),
    (re.compile(rf"order {_ORDER} is cancelled"), _cancelled),
    (re.compile(r"will be delivered to"), _change("address")),
    (re.compile(r"passed your change to the team"), _change("items")),
    (re.compile(r"recorded the return of"), _returned),
    (re.compile(rf"(?:they'll reply[^\n]*? at|will reply by email to|already has your message[^\n]*? at) "
                rf"(?P<email>{_EMAIL})"),
     _handoff("ticket")),
    (re.compile(r"asked a person to join this chat"), _handoff("waiting")),
    (re.compile(r"Thank you! Is there anything you'd like to add\?"), _feedback("csat", scored=True)),
    (re.compile(r"Thank you for the rating|that means a lot|Thank you for your answers|"
                r"I'm sorry we didn't do better"), _feedback("csat", scored=True)),
    (re.compile(r"No problem\. Thanks for chatting with us"), _feedback("csat", declined=True)),
    (re.compile(r"I've passed it on to the owner"), _feedback("feedback", comment=True)),
)
NOTHING_CHANGED = re.compile(r"changed nothing|haven't changed anything|stays as it is")


def database_problems(turn: Turn, engine: Engine, sender: str, tally: Optional[Counter] = None) -> List[str]:
    """``tally`` counts the confirmations checked, by the words that made them one."""
    problems = []
    for pattern, check in CONFIRMATIONS:
        for said in pattern.finditer(turn.text):
            if tally is not None:
                tally[pattern.pattern.split("|")[0][:40]] += 1
            problem = check(engine, sender, turn, said)
            if problem:
                problems.append(problem)
    if NOTHING_CHANGED.search(turn.text):
        if tally is not None:
            tally["nothing changed"] += 1
        tables = ((t.audit_log, t.audit_log.c.at), (t.order_changes, t.order_changes.c.created_at),
                  (t.returns, t.returns.c.created_at), (t.cases, t.cases.c.created_at))
        # A check of the customer's order number and email is audited too, but changes nothing; the walker
        # starts a turn's window a second early, so the check of the turn before can fall inside it.
        bookkeeping = t.audit_log.c.action.in_(("verified", "verification_failed"))
        written = sum(_count(engine, table, table.c.conversation_id == sender, column >= turn.started,
                             *((~bookkeeping,) if table is t.audit_log else ()))
                      for table, column in tables)
        if written:
            problems.append(f"said nothing changed, but {written} rows were written in that turn")
    return problems


TAPPED_RATING = re.compile(r'^/inform\{"rating": "(\d+)"\}$')


def tapped_rating_problem(engine: Engine, sender: str, answer: str) -> Optional[str]:
    """A rating button the bot took (it moved on) must be stored with that score."""
    tapped = TAPPED_RATING.match(answer)
    if tapped is None:
        return None
    score = int(tapped.group(1))
    if _count(engine, t.feedback, t.feedback.c.conversation_id == sender, t.feedback.c.score == score):
        return None
    return f"took the rating {score} and moved on, but no feedback row has that score"


# Where a customer's words are stored as an answer: a question or "never mind" must never land there.
STORED_ANSWERS = ((t.feedback, t.feedback.c.comment), (t.cases, t.cases.c.description),
                  (t.cases, t.cases.c["items"]), (t.order_changes, t.order_changes.c.details),
                  (t.returns, t.returns.c["items"]), (t.returns, t.returns.c.reason))


def stored_as_answer(engine: Engine, sender: str, text: str) -> List[str]:
    """Where ``text`` was stored as this conversation's answer (a comment, a complaint, order details)."""
    found = []
    for table, column in STORED_ANSWERS:
        stored = func.lower(column).contains(text.lower())
        if _count(engine, table, table.c.conversation_id == sender, stored):
            found.append(f"{table.name}.{column.name}")
    return found
