"""One customer's data in their hands: everything we hold about them, exported or deleted, in every store.

A customer's data is found by their conversations (``customer_conversations``) and by their emails and
phones: orders bearing them, tickets, cases and NPS answers given with them, possibly from conversations
that were never linked. Deletion removes, for those conversations, Rasa's tracker events and every row of
ours that names them, the photos they uploaded, and the customer; orders stay for the shop's books with
their personal fields (email, phone, name, address) blanked and the addresses in their change history
removed. One audit row says who deleted what, by counts: it holds nothing personal.

``delete_conversations`` is the one path that removes a conversation; ``RETENTION_DAYS`` uses it too
(``actions/services/customers/old_conversations.py``). A web process that kept a deleted conversation in
memory reads it again (bot/tracker_store.py compares the newest stored event), and finds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

from sqlalchemy import Table, delete, inspect, or_, select, update
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.customers.export_files import ExportFiles, rasa_events
from actions.services.customers.identity import conversations_of, customer_by_contact
from actions.services.database import write_out_deletions

# Our tables that hold rows per conversation and nothing the shop's books need.
_PER_CONVERSATION: Sequence[Table] = (
    t.feedback,
    t.bot_errors,
    t.outbound_messages,
    t.chat_presence,
    t.verification_attempts,
    t.order_verifications,
    t.failed_order_checks,
    t.message_writes,
    t.inbox_decisions,
    t.conversation_reviews,
    t.flagged_turns,
    t.audit_log,
    t.customer_conversations,
    t.channel_conversations,
    t.channel_inbox,
)
# Rows about an order that stay with it, without the conversation they came from.
_ORDER_HISTORY: Sequence[Table] = (t.refunds, t.returns, t.order_changes)
ERASED = "(deleted)"


@dataclass(frozen=True)
class Subject:
    """Whose data: a customer row (if they ever proved themselves in a chat) and their contacts."""

    customer_id: Optional[int]
    emails: frozenset
    phones: frozenset
    conversations: frozenset


@dataclass(frozen=True)
class DeletionSummary:
    conversations: int
    cases: int
    orders_anonymised: int
    files: int


def _conversation_ids(connection: Connection, customer_id: Optional[int], emails: Set[str]) -> Set[str]:
    ids: Set[str] = set()
    if customer_id is not None:
        ids |= set(conversations_of(connection, customer_id))
    if emails:
        ids |= set(
            connection.execute(
                select(t.handoffs.c.conversation_id).where(t.handoffs.c.contact_email.in_(emails))
            ).scalars()
        )
        ids |= {
            c
            for c in connection.execute(
                select(t.cases.c.conversation_id).where(t.cases.c.contact.in_(emails))
            ).scalars()
            if c
        }
    return ids


def find_subject(
    connection: Connection, customer_id: Optional[int] = None, email: str = ""
) -> Optional[Subject]:
    """The customer with this id, or holding this email; for an email no chat ever proved, the orders,
    tickets and cases that bear it. None when nothing at all is held."""
    contacts = t.customer_contacts
    if customer_id is None and email:
        customer_id = customer_by_contact(connection, email)
    emails: Set[str] = {email.strip().lower()} if email else set()
    phones: Set[str] = set()
    if customer_id is not None:
        if (
            connection.execute(select(t.customers.c.id).where(t.customers.c.id == customer_id)).first()
            is None
        ):
            return None
        for kind, value in connection.execute(
            select(contacts.c.kind, contacts.c.value).where(contacts.c.customer_id == customer_id)
        ):
            (emails if kind == "email" else phones).add(value)
    conversations = _conversation_ids(connection, customer_id, emails)
    if customer_id is None and not conversations and not _orders_of(connection, emails, phones):
        return None
    return Subject(customer_id, frozenset(emails), frozenset(phones), frozenset(conversations))


def _orders_of(connection: Connection, emails: Iterable[str], phones: Iterable[str]) -> List[int]:
    emails, phones = list(emails), list(phones)
    if not emails and not phones:
        return []
    condition = or_(t.orders.c.email.in_(emails), t.orders.c.phone.in_(phones))
    return list(connection.execute(select(t.orders.c.id).where(condition).order_by(t.orders.c.id)).scalars())


def _events_table(connection: Connection) -> Optional[Any]:
    return rasa_events() if inspect(connection).has_table("events") else None


def delete_conversations(
    connection: Connection, conversation_ids: Iterable[str], upload_dir: Path
) -> List[Path]:
    """Remove these conversations from the database: Rasa's events, our rows that name them, their handoffs
    and notes, their cases. Returns their photos and upload folders, for ``remove_files`` once the
    transaction has committed. Orders they touched stay; the order history rows keep no link to them."""
    ids = sorted(set(conversation_ids))
    files: List[Path] = []
    for start in range(0, len(ids), 500):  # stay under every database's bound-parameter limit
        chunk = ids[start : start + 500]
        events = _events_table(connection)
        if events is not None:
            connection.execute(delete(events).where(events.c.sender_id.in_(chunk)))
        for table in _PER_CONVERSATION:
            connection.execute(delete(table).where(table.c.conversation_id.in_(chunk)))
        for table in _ORDER_HISTORY:
            connection.execute(
                update(table).where(table.c.conversation_id.in_(chunk)).values(conversation_id=None)
            )
        handoff_ids = select(t.handoffs.c.id).where(t.handoffs.c.conversation_id.in_(chunk))
        connection.execute(delete(t.handoff_notes).where(t.handoff_notes.c.handoff_id.in_(handoff_ids)))
        connection.execute(delete(t.handoffs).where(t.handoffs.c.conversation_id.in_(chunk)))
        files += _delete_cases(connection, t.cases.c.conversation_id.in_(chunk), upload_dir)
        files += [upload_dir / conversation_id for conversation_id in chunk]
    return files


def _delete_cases(connection: Connection, condition: Any, upload_dir: Path) -> List[Path]:
    """Deletes the cases; returns their photos."""
    rows = connection.execute(select(t.cases.c.id, t.cases.c.photo_path).where(condition)).all()
    case_ids = [row.id for row in rows]
    if case_ids:
        connection.execute(update(t.handoffs).where(t.handoffs.c.case_id.in_(case_ids)).values(case_id=None))
        connection.execute(delete(t.cases).where(t.cases.c.id.in_(case_ids)))
    return [path for path in (_inside(upload_dir, row.photo_path) for row in rows) if path is not None]


def _inside(upload_dir: Path, relative: Optional[str]) -> Optional[Path]:
    if not relative:
        return None
    path = (upload_dir / relative).resolve()
    return path if path.is_relative_to(upload_dir.resolve()) else None


def remove_files(paths: Iterable[Path]) -> int:
    """Remove these photos and folders (what ``delete_conversations`` returned); how many files went."""
    count = 0
    for path in set(paths):
        if path.is_dir():
            count += sum(1 for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)
            count += 1
    return count


def _anonymise_orders(connection: Connection, order_ids: List[int], now: dt.datetime) -> None:
    if not order_ids:
        return
    connection.execute(
        update(t.orders)
        .where(t.orders.c.id.in_(order_ids))
        .values(email="", phone=None, customer_name="", shipping_address="", updated_at=now)
    )
    changes = t.order_changes
    connection.execute(
        update(changes)
        .where(changes.c.order_id.in_(order_ids), changes.c.kind == "address")
        .values(details=ERASED)
    )
    for table in (t.returns, t.refunds):  # the customer's own words about why
        connection.execute(update(table).where(table.c.order_id.in_(order_ids)).values(reason=ERASED))


class CustomerRecords:
    """Export and deletion of one customer's data (the CLI's ``customer export|delete`` and the console)."""

    def __init__(self, engine: Engine, upload_dir: Path, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.upload_dir = Path(upload_dir)
        self.clock = clock

    def subject(self, customer_id: Optional[int] = None, email: str = "") -> Subject:
        with self.engine.connect() as connection:
            subject = find_subject(connection, customer_id, email)
        if subject is None:
            raise KeyError(customer_id if customer_id is not None else email)
        return subject

    def export_zip(self, customer_id: Optional[int] = None, actor: str = "", email: str = "") -> bytes:
        """A ZIP of JSON and CSV files: the customer, conversations, cases, tickets, ratings, orders, and the
        photos they uploaded. Raises KeyError when nothing is held. Writes an audit row."""
        subject = self.subject(customer_id, email)
        with self.engine.begin() as connection:
            data = ExportFiles(connection, subject, self.upload_dir, self.clock()).zip_bytes()
            self._audit(connection, "customer_exported", subject, actor, {})
        return data

    def delete_customer(
        self, customer_id: Optional[int] = None, actor: str = "", email: str = ""
    ) -> DeletionSummary:
        """Delete everything held about the customer (see the module's docstring). Raises KeyError when
        nothing is held. One transaction: the database keeps all of it or none; photos go after it."""
        subject = self.subject(customer_id, email)
        now = naive_utc(self.clock())
        with self.engine.begin() as connection:
            emails = sorted(subject.emails)
            case_condition = or_(
                t.cases.c.conversation_id.in_(sorted(subject.conversations)), t.cases.c.contact.in_(emails)
            )
            cases = len(connection.execute(select(t.cases.c.id).where(case_condition)).all())
            files = _delete_cases(connection, case_condition, self.upload_dir)
            files += delete_conversations(connection, subject.conversations, self.upload_dir)
            order_ids = _orders_of(connection, subject.emails, subject.phones)
            _anonymise_orders(connection, order_ids, now)
            handoffs = select(t.handoffs.c.id).where(t.handoffs.c.contact_email.in_(emails))
            connection.execute(delete(t.handoff_notes).where(t.handoff_notes.c.handoff_id.in_(handoffs)))
            connection.execute(delete(t.handoffs).where(t.handoffs.c.contact_email.in_(emails)))
            connection.execute(delete(t.feedback).where(t.feedback.c.customer_key.in_(emails)))
            if subject.customer_id is not None:
                for table in (t.customer_followups, t.customer_contacts, t.customer_conversations):
                    connection.execute(delete(table).where(table.c.customer_id == subject.customer_id))
                connection.execute(delete(t.customers).where(t.customers.c.id == subject.customer_id))
            self._audit(
                connection,
                "customer_deleted",
                subject,
                actor,
                {
                    "conversations": len(subject.conversations),
                    "cases": cases,
                    "orders_anonymised": len(order_ids),
                },
            )
        write_out_deletions(self.engine)
        return DeletionSummary(len(subject.conversations), cases, len(order_ids), remove_files(files))

    def _audit(
        self, connection: Connection, action: str, subject: Subject, actor: str, counts: Dict[str, Any]
    ) -> None:
        details = {"customer": subject.customer_id, "by": actor, **counts}
        connection.execute(
            t.audit_log.insert().values(
                at=naive_utc(self.clock()), action=action, details=json.dumps(details)
            )
        )
