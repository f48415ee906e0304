"""The owner's view of cases: damaged / wrong / missing items, late orders, cancellations the bot did,
complaints. Read with their order, customer, photo and history; settled by a person (replaced,
refunded, closed), each change committed with an audit row naming who did it.

The bot opens cases through OrderService (actions/services/orders.py); this is the other side.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import case as sql_case
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now

CASE_VIEWS = ("open", "all")
SETTLED = ("replaced", "refunded", "closed")  # what a person can mark a case as
CATEGORY_WORDS = {"damaged": "Damaged item", "wrong": "Wrong item", "missing": "Missing item",
                  "late": "Late order", "cancellation": "Cancelled by the assistant",
                  "complaint": "Complaint"}
STATUS_WORDS = {"open": "open", "replaced": "replaced", "refunded": "refunded", "closed": "closed",
                "resolved": "closed"}  # resolved: what early versions wrote for a finished case
# The audit actions that belong to a case's history, and how they read.
HISTORY_WORDS = {"open_case": "Opened by the assistant", "case_status": "Marked {to}",
                 "case_reply": "Replied to the customer", "case_owner_emailed": "The owner was emailed"}
PHOTO_PATH = re.compile(r"[0-9a-f]{32}/[0-9a-f]{32}\.(jpg|png|gif|webp)")  # fullmatch: no trailing newline
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


def _aware(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None else None


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    what: str
    by: str = ""      # the person, empty for the assistant
    text: str = ""    # a reply's words
    detail: str = ""  # a reply: where else it went


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    category: str
    status: str
    created_at: dt.datetime
    items: str
    description: str
    remedy: Optional[str]
    photo_path: Optional[str]
    contact: Optional[str]          # the email the customer gave for this case
    conversation_id: Optional[str]
    order_number: Optional[str] = None
    order_status: Optional[str] = None
    customer_name: str = ""
    order_email: Optional[str] = None
    order_phone: Optional[str] = None
    handoff_id: Optional[int] = None  # the conversation in the console inbox, when a person was asked
    lines: Tuple[str, ...] = ()
    history: Tuple[HistoryEntry, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def kind(self) -> str:
        return CATEGORY_WORDS.get(self.category, self.category)

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, self.status)

    @property
    def email(self) -> Optional[str]:
        """Where a reply can be emailed: the address given for the case, else the order's."""
        return self.contact or self.order_email

    @property
    def next_statuses(self) -> Tuple[str, ...]:
        """What a person may mark it as now: settle an open case; close a replaced or refunded one."""
        if self.status == "open":
            return SETTLED
        return ("closed",) if self.status in ("replaced", "refunded") else ()


@dataclass(frozen=True)
class StatusChange:
    done: bool
    reason: str = ""  # unknown_status, no_such_case, not_allowed (the case is closed or already settled)
    case: Optional[Case] = None


def _case_query() -> Any:
    c, o = t.cases.c, t.orders.c
    return (select(t.cases, o.number.label("order_number"), o.status.label("order_status"),
                   o.customer_name, o.email.label("order_email"), o.phone.label("order_phone"))
            .select_from(t.cases.outerjoin(t.orders, o.id == c.order_id)))


def _from_row(row: RowMapping, handoff_id: Optional[int] = None, lines: Tuple[str, ...] = (),
              history: Tuple[HistoryEntry, ...] = ()) -> Case:
    return Case(row["id"], row["number"] or f"case {row['id']}", row["category"], row["status"],
                _aware(row["created_at"]), row["items"], row["description"],  # type: ignore[arg-type]
                row["remedy"], row["photo_path"], row["contact"], row["conversation_id"], row["order_number"],
                row["order_status"], row["customer_name"] or "", row["order_email"], row["order_phone"],
                handoff_id, lines, history)


class CaseBook:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    # ---- reading ----
    def list(self, view: str = "open", limit: int = 200) -> List[Case]:
        """Open cases first (newest first), then the rest newest first; ``view`` "open" or "all"."""
        if view not in CASE_VIEWS:
            raise ValueError(f"unknown view {view!r}")
        c = t.cases.c
        query = _case_query().order_by(sql_case((c.status == "open", 0), else_=1), c.created_at.desc(),
                                       c.id.desc()).limit(limit)
        if view == "open":
            query = query.where(c.status == "open")
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
            handoffs = self._handoffs(connection, [row["id"] for row in rows])
        return [_from_row(row, handoffs.get(row["id"])) for row in rows]

    def count_open(self) -> int:
        return self.counts()["open"]

    def counts(self) -> Dict[str, int]:
        """How many cases each view lists: {"open": ..., "all": ...}."""
        c = t.cases.c
        with self.engine.connect() as connection:
            everything, still_open = connection.execute(select(
                func.count(), func.coalesce(func.sum(sql_case((c.status == "open", 1), else_=0)), 0))).one()
        return {"open": int(still_open), "all": int(everything)}

    def get(self, case_id: int) -> Optional[Case]:
        """One case with its order lines and its history, oldest first."""
        with self.engine.connect() as connection:
            row = connection.execute(_case_query().where(t.cases.c.id == case_id)).mappings().first()
            if row is None:
                return None
            lines = tuple(f"{line.quantity} × {line.product}" for line in connection.execute(
                select(t.order_lines).where(t.order_lines.c.order_id == row["order_id"])
                .order_by(t.order_lines.c.id))) if row["order_id"] else ()
            history = self._history(connection, row["number"] or "")
            handoff_id = self._handoffs(connection, [case_id]).get(case_id)
        return _from_row(row, handoff_id, lines, history)

    def by_number(self, number: str) -> Optional[Case]:
        with self.engine.connect() as connection:
            case_id = connection.execute(select(t.cases.c.id).where(t.cases.c.number == number)).scalar()
        return self.get(case_id) if case_id is not None else None

    def new_since(self, since: dt.datetime, until: dt.datetime,
                  categories: Optional[Sequence[str]] = None) -> List[Case]:
        """Cases opened after ``since`` up to ``until`` (aware moments), oldest first: for the digest."""
        c = t.cases.c
        query = _case_query().where(c.created_at > naive_utc(since), c.created_at <= naive_utc(until))
        if categories is not None:
            query = query.where(c.category.in_(list(categories)))
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(c.created_at, c.id)).mappings().all()
            handoffs = self._handoffs(connection, [row["id"] for row in rows])
        return [_from_row(row, handoffs.get(row["id"])) for row in rows]

    def for_conversation(self, conversation_id: str) -> List[Case]:
        """The cases opened in one conversation: the conversation page links to them."""
        c = t.cases.c
        with self.engine.connect() as connection:
            rows = connection.execute(_case_query().where(c.conversation_id == conversation_id)
                                      .order_by(c.id)).mappings().all()
        return [_from_row(row) for row in rows]

    def photo_file(self, case: Case, upload_dir: Path) -> Optional[Path]:
        """The case's photo on disk: only a name of the upload's shape, only inside the upload folder."""
        if not case.photo_path or not PHOTO_PATH.fullmatch(case.photo_path):
            return None
        root = upload_dir.resolve()
        path = (root / case.photo_path).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None

    @staticmethod
    def _handoffs(connection: Connection, case_ids: List[int]) -> Dict[int, int]:
        if not case_ids:
            return {}
        h = t.handoffs.c
        rows = connection.execute(select(h.case_id, func.max(h.id)).where(h.case_id.in_(case_ids))
                                  .group_by(h.case_id))
        return {case_id: handoff_id for case_id, handoff_id in rows}

    @staticmethod
    def _history(connection: Connection, number: str) -> Tuple[HistoryEntry, ...]:
        a = t.audit_log.c
        # The audit rows of a case name it in their JSON details; the closing quote keeps C-101 from C-1010.
        rows = connection.execute(select(a.at, a.action, a.details).where(
            a.action.in_(list(HISTORY_WORDS)), a.details.like(f'%"case": "{number}"%')).order_by(a.at, a.id))
        entries = []
        for at, action, details in rows:
            facts = json.loads(details or "{}")
            what = HISTORY_WORDS[action].format(to=STATUS_WORDS.get(facts.get("to"), facts.get("to")))
            emailed = f"also emailed to {facts['emailed_to']}" if facts.get("emailed_to") else ""
            entries.append(HistoryEntry(_aware(at), what, facts.get("by", ""),  # type: ignore[arg-type]
                                        facts.get("text", ""), emailed))
        return tuple(entries)

    # ---- writing ----
    def _audit(self, connection: Connection, case: Case, action: str, details: Dict[str, Any]) -> None:
        order_id = connection.execute(select(t.cases.c.order_id).where(t.cases.c.id == case.id)).scalar()
        connection.execute(t.audit_log.insert().values(
            at=naive_utc(self.clock()), conversation_id=case.conversation_id, order_id=order_id,
            action=action, details=json.dumps({"case": case.number, **details}, ensure_ascii=False)))

    def set_status(self, case_id: int, status: str, owner_id: int, owner_name: str) -> StatusChange:
        """Mark a case replaced, refunded or closed; a closed case, or one already settled, stays as it is."""
        if status not in SETTLED:
            return StatusChange(False, "unknown_status")
        case = self.get(case_id)
        if case is None:
            return StatusChange(False, "no_such_case")
        if status not in case.next_statuses:
            return StatusChange(False, "not_allowed", case)
        with self.engine.begin() as connection:
            # Only if nobody changed it meanwhile: two people pressing buttons at once get one change.
            changed = connection.execute(update(t.cases).where(t.cases.c.id == case_id,
                                                               t.cases.c.status == case.status)
                                         .values(status=status)).rowcount
            if changed != 1:
                return StatusChange(False, "not_allowed", case)
            self._audit(connection, case, "case_status",
                        {"from": case.status, "to": status, "by": owner_name, "owner_id": owner_id})
        return StatusChange(True, case=self.get(case_id))

    def record_reply(self, case: Case, owner_id: int, owner_name: str, text: str,
                     emailed_to: Optional[str] = None) -> None:
        with self.engine.begin() as connection:
            self._audit(connection, case, "case_reply", {"by": owner_name, "owner_id": owner_id, "text": text,
                                                         "emailed_to": emailed_to})

    def record_owner_emailed(self, case: Case, to: str) -> None:
        with self.engine.begin() as connection:
            self._audit(connection, case, "case_owner_emailed", {"to": to})
