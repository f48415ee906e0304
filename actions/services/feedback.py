"""Customers' ratings, comments and thumbs, committed as they are given (before the bot says thanks).

NPS is asked at most once per customer every 90 days: a customer is their email address when the
conversation knows it (a verified order, a ticket), else the conversation itself.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

NPS_EVERY = dt.timedelta(days=90)
KINDS = ("csat", "nps", "feedback", "thumb")
MAX_COMMENT = 2000




@dataclass(frozen=True)
class Context:
    """What a rating is about: the conversation, the intent served, whether a person took part."""

    conversation_id: str
    intent: str = ""
    with_person: bool = False
    customer_key: str = ""


class FeedbackStore:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, kind: str, context: Context, score: Optional[int] = None, comment: str = "",
               declined: bool = False, message_text: str = "") -> int:
        if kind not in KINDS:
            raise ValueError(f"unknown feedback kind {kind!r}")
        with self.engine.begin() as connection:
            return connection.execute(t.feedback.insert().values(
                conversation_id=context.conversation_id, kind=kind, score=score,
                comment=comment[:MAX_COMMENT], declined=declined, intent=context.intent[:64],
                with_person=context.with_person, message_text=message_text,
                customer_key=(context.customer_key or context.conversation_id)[:254],
                created_at=naive_utc(self.clock()),
            )).inserted_primary_key[0]

    def _latest(self, conversation_id: str, kind: str) -> Optional[int]:
        f = t.feedback.c
        with self.engine.connect() as connection:
            return connection.execute(select(func.max(f.id)).where(
                f.conversation_id == conversation_id, f.kind == kind)).scalar()

    def add_comment(self, conversation_id: str, kind: str, comment: str) -> bool:
        """The comment that follows a rating, on that rating's row."""
        row = self._latest(conversation_id, kind)
        if row is None:
            return False
        with self.engine.begin() as connection:
            connection.execute(update(t.feedback).where(t.feedback.c.id == row).values(
                comment=comment[:MAX_COMMENT]))
        return True

    def add_score(self, conversation_id: str, kind: str, score: int) -> bool:
        """The rating that follows a comment given with give_feedback."""
        row = self._latest(conversation_id, kind)
        if row is None:
            return False
        with self.engine.begin() as connection:
            connection.execute(update(t.feedback).where(t.feedback.c.id == row).values(score=score))
        return True

    def asked(self, conversation_id: str, kind: str, since: Optional[dt.datetime] = None) -> bool:
        """This conversation has an answer (or a "no thanks") of this kind already; with ``since`` (the
        start of the customer's current chat, aware), one given since then."""
        f = t.feedback.c
        query = select(f.id).where(f.conversation_id == conversation_id, f.kind == kind)
        if since is not None:
            query = query.where(f.created_at >= naive_utc(since))
        with self.engine.connect() as connection:
            return connection.execute(query.limit(1)).first() is not None

    def rate_chat(self, context: Context, score: int, since: Optional[dt.datetime], message_text: str) -> int:
        """A CSAT rating the customer typed unasked: this chat's rating, replacing one given or declined
        earlier in the chat (since ``since``, aware), so that a chat counts once in the figures."""
        f = t.feedback.c
        query = select(func.max(f.id)).where(f.conversation_id == context.conversation_id, f.kind == "csat")
        if since is not None:
            query = query.where(f.created_at >= naive_utc(since))
        with self.engine.begin() as connection:
            existing = connection.execute(query).scalar()
            if existing is not None:
                connection.execute(update(t.feedback).where(f.id == existing).values(
                    score=score, declined=False, message_text=message_text))
                return int(existing)
        return self.record("csat", context, score=score, message_text=message_text)

    def nps_due(self, customer_key: str) -> bool:
        f = t.feedback.c
        since = naive_utc(self.clock() - NPS_EVERY)
        with self.engine.connect() as connection:
            recent = connection.execute(select(func.count()).select_from(t.feedback).where(
                f.kind == "nps", f.customer_key == customer_key, f.created_at >= since)).scalar()
        return not recent

    def thumb(self, context: Context, message_text: str, up: bool) -> int:
        """One thumb per answer and conversation: a changed mind replaces the earlier one."""
        f = t.feedback.c
        with self.engine.begin() as connection:
            existing = connection.execute(select(f.id).where(
                f.conversation_id == context.conversation_id, f.kind == "thumb",
                f.message_text == message_text)).scalar()
            if existing is not None:
                connection.execute(update(t.feedback).where(f.id == existing).values(
                    score=1 if up else -1, created_at=naive_utc(self.clock())))
                return int(existing)
        return self.record("thumb", context, score=1 if up else -1, message_text=message_text)
