"""What trainers record about a conversation: reviewed (by whom, when), tags, and flagged turns with a note.

One row per conversation in ``conversation_reviews`` once a trainer touched it, one row per flagged
customer message in ``flagged_turns``. Whether a conversation or a message exists is the caller's check
(the tracker store knows); this module only keeps the trainer's marks.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import naive_utc

MAX_TAGS = 10
MAX_TAG_LENGTH = 40
MAX_NOTE_LENGTH = 500


class ReviewError(ValueError):
    """A mark that cannot be kept as given; the message says why."""


@dataclass(frozen=True)
class Review:
    reviewed_by: Optional[str] = None
    reviewed_at: Optional[dt.datetime] = None    # UTC, naive
    tags: Tuple[str, ...] = ()

    @property
    def reviewed(self) -> bool:
        return self.reviewed_by is not None


@dataclass(frozen=True)
class Flag:
    event_id: int
    note: str
    flagged_by: str
    flagged_at: dt.datetime                      # UTC, naive


def tags_of(text: str) -> Tuple[str, ...]:
    """Comma-separated tags as kept: trimmed, inner spaces single, the first spelling of each, in order."""
    tags: List[str] = []
    for tag in (" ".join(part.split()) for part in text.split(",")):
        if not tag or tag.casefold() in (kept.casefold() for kept in tags):
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ReviewError(f"a tag is at most {MAX_TAG_LENGTH} characters: {tag[:MAX_TAG_LENGTH]}…")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ReviewError(f"at most {MAX_TAGS} tags on a conversation")
    return tuple(tags)


def reviews_of(connection: Connection, conversation_ids: Iterable[str]) -> Dict[str, Review]:
    ids = list(conversation_ids)
    found: Dict[str, Review] = {}
    r = t.conversation_reviews.c
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for row in connection.execute(select(r.conversation_id, r.reviewed_by, r.reviewed_at, r.tags)
                                      .where(r.conversation_id.in_(chunk))):
            found[row.conversation_id] = Review(row.reviewed_by, row.reviewed_at, tags_of(row.tags or ""))
    return found


def _now() -> dt.datetime:
    return naive_utc(dt.datetime.now(dt.timezone.utc))


class ConversationReviews:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, conversation_id: str) -> Review:
        with self.engine.connect() as connection:
            return reviews_of(connection, [conversation_id]).get(conversation_id, Review())

    def mark_reviewed(self, conversation_id: str, by: str, reviewed: bool = True) -> Review:
        """Reviewed by ``by`` now, or (``reviewed=False``) back to not reviewed."""
        now = _now()
        values = {"reviewed_by": by if reviewed else None, "reviewed_at": now if reviewed else None}
        return self._save(conversation_id, values, now)

    def set_tags(self, conversation_id: str, text: str) -> Review:
        """Replace the conversation's tags with those in ``text`` (comma-separated; empty: none)."""
        return self._save(conversation_id, {"tags": ", ".join(tags_of(text))}, _now())

    def _save(self, conversation_id: str, values: Mapping[str, object], now: dt.datetime) -> Review:
        r = t.conversation_reviews
        with self.engine.begin() as connection:
            found = connection.execute(select(r.c.conversation_id).where(
                r.c.conversation_id == conversation_id).with_for_update()).first()
            if found is None:
                connection.execute(r.insert().values(conversation_id=conversation_id, updated_at=now,
                                                     **{"tags": "", **values}))
            else:
                connection.execute(r.update().where(r.c.conversation_id == conversation_id)
                                   .values(updated_at=now, **values))
            return reviews_of(connection, [conversation_id])[conversation_id]

    def flags(self, conversation_id: str) -> Dict[int, Flag]:
        f = t.flagged_turns.c
        with self.engine.connect() as connection:
            rows = connection.execute(select(f.event_id, f.note, f.flagged_by, f.flagged_at)
                                      .where(f.conversation_id == conversation_id)).all()
        return {row.event_id: Flag(row.event_id, row.note, row.flagged_by, row.flagged_at) for row in rows}

    def flag(self, conversation_id: str, event_id: int, note: str, by: str) -> Flag:
        """Flag a customer message with a note (flagging it again replaces the note)."""
        note = " ".join(note.split())
        if len(note) > MAX_NOTE_LENGTH:
            raise ReviewError(f"a note is at most {MAX_NOTE_LENGTH} characters")
        f, now = t.flagged_turns, _now()
        with self.engine.begin() as connection:
            connection.execute(f.delete().where(f.c.event_id == event_id))
            connection.execute(f.insert().values(event_id=event_id, conversation_id=conversation_id,
                                                 note=note, flagged_by=by, flagged_at=now))
        return Flag(event_id, note, by, now)

    def unflag(self, event_id: int) -> bool:
        """Remove a flag; False if the message had none."""
        f = t.flagged_turns
        with self.engine.begin() as connection:
            return bool(connection.execute(f.delete().where(f.c.event_id == event_id)).rowcount)
