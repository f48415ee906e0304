"""Conversations handed to a person: the queue, who owns which, tickets, notes, the inbox.

A handoff is *active* once a person has claimed it: from then on the bot stays silent in that
conversation (the web server asks ``is_owned_by_person`` before the bot sees a message) until the
person resolves it or hands it back. Every change commits before it returns.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine, RowMapping

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.customers.identity import link_conversation

OPEN = ("waiting", "active", "ticket")
INBOX_VIEWS = ("waiting", "mine", "tickets", "resolved")




@dataclass(frozen=True)
class Handoff:
    id: int
    conversation_id: str
    status: str
    reason: str
    summary: Dict[str, Any]
    contact_email: Optional[str]
    owner_id: Optional[int]
    case_id: Optional[int]
    tags: List[str]
    created_at: dt.datetime
    claimed_at: Optional[dt.datetime]
    closed_at: Optional[dt.datetime]
    reply_due_at: Optional[dt.datetime]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Handoff":
        def aware(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
            return moment.replace(tzinfo=dt.timezone.utc) if moment else None

        return cls(
            row["id"],
            row["conversation_id"],
            row["status"],
            row["reason"],
            json.loads(row["summary"]),
            row["contact_email"],
            row["owner_id"],
            row["case_id"],
            [x for x in row["tags"].split(",") if x],
            row["created_at"].replace(tzinfo=dt.timezone.utc),
            aware(row["claimed_at"]),
            aware(row["closed_at"]),
            aware(row["reply_due_at"]),
        )


@dataclass(frozen=True)
class Note:
    author: str
    text: str
    created_at: dt.datetime


class HandoffQueue:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def _one(self, handoff_id: int) -> Handoff:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.handoffs).where(t.handoffs.c.id == handoff_id)).mappings().one()
        return Handoff.from_row(row)

    def get(self, handoff_id: int) -> Optional[Handoff]:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(t.handoffs).where(t.handoffs.c.id == handoff_id)).mappings().first()
            )
        return Handoff.from_row(row) if row else None

    def open_for(self, conversation_id: str) -> Optional[Handoff]:
        """The conversation's handoff that is not finished yet, if any."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(t.handoffs)
                    .where(t.handoffs.c.conversation_id == conversation_id, t.handoffs.c.status.in_(OPEN))
                    .order_by(t.handoffs.c.id.desc())
                )
                .mappings()
                .first()
            )
        return Handoff.from_row(row) if row else None

    def person_took_part(self, conversation_id: str) -> bool:
        """A person claimed (or answered by email) a handoff of this conversation at some point."""
        c = t.handoffs.c
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(t.handoffs).where(
                c.conversation_id == conversation_id, c.claimed_at.is_not(None))).scalar() > 0

    def is_owned_by_person(self, conversation_id: str) -> bool:
        handoff = self.open_for(conversation_id)
        return handoff is not None and handoff.status == "active"

    def request(
        self,
        conversation_id: str,
        reason: str,
        summary: Dict[str, Any],
        contact_email: Optional[str] = None,
        ticket_due: Optional[dt.datetime] = None,
        case_id: Optional[int] = None,
    ) -> Handoff:
        """Queue the conversation (with ``ticket_due``: a ticket); asking twice changes nothing."""
        existing = self.open_for(conversation_id)
        if existing is not None:
            return existing
        with self.engine.begin() as connection:
            handoff_id = connection.execute(
                t.handoffs.insert().values(
                    conversation_id=conversation_id,
                    status="ticket" if ticket_due else "waiting",
                    reason=reason,
                    summary=json.dumps(summary, ensure_ascii=False),
                    contact_email=contact_email,
                    case_id=case_id,
                    tags="",
                    created_at=naive_utc(self.clock()),
                    reply_due_at=naive_utc(ticket_due) if ticket_due else None,
                )
            ).inserted_primary_key[0]
            if contact_email:
                link_conversation(connection, conversation_id, how="ticket", at=naive_utc(self.clock()),
                                  email=contact_email)
        return self._one(handoff_id)

    def add_to_summary(self, handoff_id: int, facts: Dict[str, Any], case_id: Optional[int] = None) -> None:
        """Something the customer added while already waiting (a complaint): the person sees it too."""
        handoff = self._one(handoff_id)
        values: Dict[str, Any] = {"summary": json.dumps({**handoff.summary, **facts}, ensure_ascii=False)}
        if case_id is not None and handoff.case_id is None:
            values["case_id"] = case_id
        with self.engine.begin() as connection:
            connection.execute(update(t.handoffs).where(t.handoffs.c.id == handoff_id).values(**values))

    def position(self, conversation_id: str) -> Optional[int]:
        """1 for the next customer a person will take; None if the conversation is not waiting."""
        handoff = self.open_for(conversation_id)
        if handoff is None or handoff.status != "waiting":
            return None
        with self.engine.connect() as connection:
            ahead = connection.execute(
                select(func.count())
                .select_from(t.handoffs)
                .where(t.handoffs.c.status == "waiting", t.handoffs.c.id < handoff.id)
            ).scalar()
        return int(ahead or 0) + 1

    def claim(self, handoff_id: int, owner_id: int) -> bool:
        """Take a waiting conversation or a ticket; False if someone else got it first."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(t.handoffs)
                .where(
                    t.handoffs.c.id == handoff_id,
                    t.handoffs.c.status.in_(("waiting", "ticket")),
                    t.handoffs.c.owner_id.is_(None),
                )
                .values(status="active", owner_id=owner_id, claimed_at=naive_utc(self.clock()))
            ).rowcount
        return changed == 1

    def _close(self, handoff_id: int, owner_id: int, status: str) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(t.handoffs)
                .where(
                    t.handoffs.c.id == handoff_id,
                    t.handoffs.c.status == "active",
                    t.handoffs.c.owner_id == owner_id,
                )
                .values(status=status, closed_at=naive_utc(self.clock()))
            ).rowcount
        return changed == 1

    def resolve(self, handoff_id: int, owner_id: int) -> bool:
        return self._close(handoff_id, owner_id, "resolved")

    def hand_back(self, handoff_id: int, owner_id: int) -> bool:
        """The person is done; the bot answers in this conversation again."""
        return self._close(handoff_id, owner_id, "returned")

    def add_note(self, handoff_id: int, owner_id: int, text: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                t.handoff_notes.insert().values(
                    handoff_id=handoff_id, owner_id=owner_id, text=text, created_at=naive_utc(self.clock())
                )
            )

    def notes(self, handoff_id: int) -> List[Note]:
        """Oldest first, with the name of the person who wrote each."""
        n, o = t.handoff_notes.c, t.owners.c
        query = (select(n.text, n.created_at, o.name).select_from(t.handoff_notes.outerjoin(t.owners))
                 .where(n.handoff_id == handoff_id).order_by(n.created_at, n.id))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        utc = dt.timezone.utc
        return [Note(row.name or "(removed account)", row.text, row.created_at.replace(tzinfo=utc))
                for row in rows]

    def answer_ticket(self, handoff_id: int, owner_id: int) -> bool:
        """Take an open ticket to answer it by email (resolved); False if someone else already did."""
        now = naive_utc(self.clock())
        with self.engine.begin() as connection:
            return connection.execute(
                update(t.handoffs)
                .where(t.handoffs.c.id == handoff_id, t.handoffs.c.status == "ticket")
                .values(status="resolved", owner_id=owner_id, claimed_at=now, closed_at=now)
            ).rowcount == 1

    def reopen_ticket(self, handoff_id: int) -> None:
        """The email could not be sent: the ticket goes back to the inbox as it was."""
        with self.engine.begin() as connection:
            connection.execute(update(t.handoffs).where(t.handoffs.c.id == handoff_id).values(
                status="ticket", owner_id=None, claimed_at=None, closed_at=None))

    def fingerprint(self) -> tuple:
        """Changes whenever a handoff is added, claimed or closed: the console's live updates poll it."""
        c = t.handoffs.c
        with self.engine.connect() as connection:
            row = connection.execute(select(func.count(), func.max(c.id), func.max(c.claimed_at),
                                            func.max(c.closed_at), func.count(c.owner_id))).one()
            notes = connection.execute(select(func.max(t.handoff_notes.c.id))).scalar()
        return (*tuple(str(v) for v in row), str(notes))

    def set_tags(self, handoff_id: int, tags: List[str]) -> None:
        clean = sorted({tag.strip().lower()[:30] for tag in tags if tag.strip() and "," not in tag})
        with self.engine.begin() as connection:
            connection.execute(
                update(t.handoffs).where(t.handoffs.c.id == handoff_id).values(tags=",".join(clean))
            )

    def inbox(self, view: str, owner_id: int) -> List[Handoff]:
        """waiting (longest waiting first), mine (active, mine), tickets, resolved (newest first)."""
        c = t.handoffs.c
        query = {
            "waiting": select(t.handoffs).where(c.status == "waiting").order_by(c.created_at, c.id),
            "mine": select(t.handoffs)
            .where(c.status == "active", c.owner_id == owner_id)
            .order_by(c.claimed_at.desc()),
            "tickets": select(t.handoffs).where(c.status == "ticket").order_by(c.created_at, c.id),
            "resolved": select(t.handoffs)
            .where(c.status.in_(("resolved", "returned")))
            .order_by(c.closed_at.desc())
            .limit(100),
        }[view]
        with self.engine.connect() as connection:
            return [Handoff.from_row(row) for row in connection.execute(query).mappings()]

    def counts(self, owner_id: int) -> Dict[str, int]:
        return {view: len(self.inbox(view, owner_id)) for view in INBOX_VIEWS}
