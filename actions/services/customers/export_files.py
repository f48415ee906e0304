"""The files of a customer's export: a ZIP with README.txt, one JSON file and one CSV file per kind of
record (customer, conversations, cases, tickets, ratings, orders) and the photos they uploaded.

CSV cells that a spreadsheet would run as a formula are written with a leading apostrophe; the JSON files
hold the values as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Sequence

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause, column, table

from actions.services import order_tables as t

if TYPE_CHECKING:
    from actions.services.customers.erasure import Subject

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def rasa_events() -> TableClause:
    """Rasa's SQLTrackerStore table, only the columns read or deleted here."""
    return table(
        "events", column("id"), column("sender_id"), column("type_name"), column("timestamp"), column("data")
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)  # Decimal


def _rows(connection: Connection, query: Any) -> List[Dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in connection.execute(query).mappings()]


def _cell(value: Any) -> str:
    """A CSV cell: lists as "a; b" (emails, notes), records in them as JSON."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value)
    return str(value)


def _csv(records: Sequence[Dict[str, Any]]) -> str:
    out = io.StringIO()
    columns: List[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in records:
        cells = [_cell(record.get(c)) for c in columns]
        writer.writerow(["'" + c if c.startswith(_FORMULA_STARTS) else c for c in cells])
    return out.getvalue()


class ExportFiles:
    def __init__(
        self, connection: Connection, subject: "Subject", upload_dir: Path, now: dt.datetime
    ) -> None:
        self.connection = connection
        self.subject = subject
        self.upload_dir = upload_dir
        self.now = now
        self.conversations = sorted(subject.conversations)

    def customer(self) -> List[Dict[str, Any]]:
        record: Dict[str, Any] = {
            "emails": sorted(self.subject.emails),
            "phones": sorted(self.subject.phones),
        }
        if self.subject.customer_id is not None:
            row = (
                self.connection.execute(
                    select(t.customers).where(t.customers.c.id == self.subject.customer_id)
                )
                .mappings()
                .one()
            )
            record = {
                "customer": row["id"],
                "name": row["name"],
                **record,
                "tags": row["tags"],
                "notes": row["notes"],
                "first_proved_at": _plain(row["created_at"]),
            }
            record["emails_from_the_shop"] = _rows(
                self.connection,
                select(
                    t.customer_followups.c.to_email,
                    t.customer_followups.c.subject,
                    t.customer_followups.c.body,
                    t.customer_followups.c.created_at,
                    t.customer_followups.c.mailed_at,
                ).where(t.customer_followups.c.customer_id == self.subject.customer_id),
            )
        return [record]

    def messages(self) -> List[Dict[str, Any]]:
        """Every message of their conversations: theirs, the bot's and a person's, oldest first."""
        events = rasa_events()
        found: List[Dict[str, Any]] = []
        has_events = self.connection.dialect.has_table(self.connection, "events")
        rows = (
            self.connection.execute(
                select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
                .where(events.c.sender_id.in_(self.conversations), events.c.type_name.in_(("user", "bot")))
                .order_by(events.c.id)
            ).all()
            if has_events and self.conversations
            else []
        )
        for sender_id, kind, timestamp, data in rows:
            text = (json.loads(data or "{}").get("text") or "").strip()
            if text and not text.startswith("/"):  # a tapped button's payload is not something they wrote
                at = dt.datetime.fromtimestamp(float(timestamp), dt.timezone.utc).replace(tzinfo=None)
                found.append(
                    {
                        "conversation": sender_id,
                        "at": at.isoformat(),
                        "from": "customer" if kind == "user" else "bot",
                        "text": text,
                    }
                )
        out = t.outbound_messages
        for row in self.connection.execute(
            select(out).where(out.c.conversation_id.in_(self.conversations)).order_by(out.c.id)
        ).mappings():
            text = json.loads(row["payload"] or "{}").get("text") or ""
            if text:
                found.append(
                    {
                        "conversation": row["conversation_id"],
                        "at": _plain(row["created_at"]),
                        "from": row["sender_name"] or row["kind"],
                        "text": text,
                    }
                )
        return sorted(found, key=lambda m: (m["conversation"], m["at"]))

    def cases(self) -> List[Dict[str, Any]]:
        c = t.cases
        return _rows(
            self.connection,
            select(
                c.c.number,
                c.c.category,
                t.orders.c.number.label("order"),
                c.c["items"],
                c.c.description,
                c.c.remedy,
                c.c.contact,
                c.c.status,
                c.c.created_at,
                c.c.conversation_id,
                c.c.photo_path,
            )
            .select_from(c.outerjoin(t.orders, c.c.order_id == t.orders.c.id))
            .where(
                or_(c.c.conversation_id.in_(self.conversations), c.c.contact.in_(sorted(self.subject.emails)))
            )
            .order_by(c.c.id),
        )

    def tickets(self) -> List[Dict[str, Any]]:
        h = t.handoffs
        records = _rows(
            self.connection,
            select(h)
            .where(
                or_(
                    h.c.conversation_id.in_(self.conversations),
                    h.c.contact_email.in_(sorted(self.subject.emails)),
                )
            )
            .order_by(h.c.id),
        )
        for record in records:
            notes = t.handoff_notes
            record["notes"] = [
                n["text"]
                for n in self.connection.execute(
                    select(notes.c.text).where(notes.c.handoff_id == record["id"]).order_by(notes.c.id)
                ).mappings()
            ]
            record.pop("owner_id", None)
        return records

    def ratings(self) -> List[Dict[str, Any]]:
        f = t.feedback
        return _rows(
            self.connection,
            select(
                f.c.conversation_id,
                f.c.kind,
                f.c.score,
                f.c.comment,
                f.c.declined,
                f.c.message_text,
                f.c.created_at,
            )
            .where(
                or_(
                    f.c.conversation_id.in_(self.conversations),
                    f.c.customer_key.in_(sorted(self.subject.emails)),
                )
            )
            .order_by(f.c.id),
        )

    def orders(self) -> List[Dict[str, Any]]:
        o = t.orders
        condition = or_(
            o.c.email.in_(sorted(self.subject.emails)), o.c.phone.in_(sorted(self.subject.phones))
        )
        records = _rows(self.connection, select(o).where(condition).order_by(o.c.placed_at))
        for record in records:
            lines = t.order_lines
            record["lines"] = "; ".join(
                f"{r['quantity']} x {r['product']}"
                for r in self.connection.execute(
                    select(lines).where(lines.c.order_id == record["id"]).order_by(lines.c.id)
                ).mappings()
            )
            record.pop("id")
        return records

    def channels(self) -> List[Dict[str, Any]]:
        """Who they are on WhatsApp, Messenger, Instagram or Telegram: the number or id, the name there."""
        c = t.channel_conversations
        return _rows(
            self.connection,
            select(c.c.conversation_id, c.c.channel, c.c.address, c.c.name, c.c.created_at,
                   c.c.last_inbound_at)
            .where(c.c.conversation_id.in_(self.conversations))
            .order_by(c.c.created_at),
        )

    def photos(self) -> List[Path]:
        found: List[Path] = []
        for conversation_id in self.conversations:
            folder = self.upload_dir / conversation_id
            if folder.is_dir():
                found += sorted(p for p in folder.iterdir() if p.is_file())
        return found

    def zip_bytes(self) -> bytes:
        buffer, photos = io.BytesIO(), self.photos()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "README.txt",
                (
                    "Everything the shop's support chat holds about you, "
                    f"exported {self.now:%Y-%m-%d %H:%M} UTC.\n"
                    "Each kind of record is in a JSON file and the same in a CSV file; times are UTC.\n"
                    + ("photos/ holds the photos you uploaded in the chat.\n" if photos else "")
                ),
            )
            for name, records in (
                ("customer", self.customer()),
                ("conversations", self.messages()),
                ("channels", self.channels()),
                ("cases", self.cases()),
                ("tickets", self.tickets()),
                ("ratings", self.ratings()),
                ("orders", self.orders()),
            ):
                archive.writestr(f"{name}.json", json.dumps(records, indent=2, ensure_ascii=False))
                archive.writestr(f"{name}.csv", _csv(records))
            for path in photos:
                archive.write(path, f"photos/{path.parent.name}/{path.name}")
        return buffer.getvalue()
