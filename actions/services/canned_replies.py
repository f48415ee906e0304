"""Canned replies: short texts the owner keeps for the console's reply box, editable in the console.

``{name}`` in a text becomes the name of the person sending it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from actions.services import order_tables as t

MAX_TITLE = 100
MAX_TEXT = 2000


class CannedReplyError(ValueError):
    """A title or text that cannot be stored; the message says why."""


@dataclass(frozen=True)
class CannedReply:
    id: int
    title: str
    text: str

    def for_person(self, name: str) -> str:
        return self.text.replace("{name}", name)


def _checked(title: str, text: str) -> tuple:
    title, text = title.strip(), text.strip()
    if not title or len(title) > MAX_TITLE:
        raise CannedReplyError(f"A title needs 1–{MAX_TITLE} characters.")
    if not text or len(text) > MAX_TEXT:
        raise CannedReplyError(f"A reply needs 1–{MAX_TEXT} characters.")
    return title, text


class CannedReplies:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> List[CannedReply]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.canned_replies).order_by(t.canned_replies.c.title)).mappings()
            return [CannedReply(r["id"], r["title"], r["text"]) for r in rows]

    def get(self, reply_id: int) -> Optional[CannedReply]:
        return next((r for r in self.all() if r.id == reply_id), None)

    def add(self, title: str, text: str) -> CannedReply:
        title, text = _checked(title, text)
        with self.engine.begin() as connection:
            reply_id = connection.execute(t.canned_replies.insert().values(
                title=title, text=text, created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            )).inserted_primary_key[0]
        return CannedReply(reply_id, title, text)

    def change(self, reply_id: int, title: str, text: str) -> bool:
        title, text = _checked(title, text)
        with self.engine.begin() as connection:
            return connection.execute(update(t.canned_replies).where(t.canned_replies.c.id == reply_id)
                                      .values(title=title, text=text)).rowcount == 1

    def remove(self, reply_id: int) -> bool:
        with self.engine.begin() as connection:
            return connection.execute(delete(t.canned_replies)
                                      .where(t.canned_replies.c.id == reply_id)).rowcount == 1
