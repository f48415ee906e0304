"""All order access goes through OrderService, so another backend (a shop's API) can replace it.

Reads return frozen records (actions.services.order_rules.Order); every write re-checks the rule on the
row it changes, writes an audit_log row in the same transaction, and commits before it returns, so
what the bot then confirms to the customer is already stored.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from actions.services import order_tables as t
from actions.services.clock import Clock, naive_utc, utc_now
from actions.services.customers.identity import link_conversation
from actions.services.order_rules import (
    Decision,
    Order,
    OrderLine,
    Refund,
    Shipment,
    can_cancel,
    can_change,
    can_return,
)
from actions.services.shop_profile import ShopProfile

MAX_VERIFICATION_FAILURES = 3




def _aware(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None else None


def phone_digits(text: str) -> str:
    """Digits of a phone number with the UK trunk 0 replaced by 44, so 07700… and +44 7700… agree."""
    digits = re.sub(r"\D", "", text)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("0"):
        digits = "44" + digits[1:]
    return digits


def contact_matches(order: Order, contact: str) -> bool:
    contact = contact.strip()
    if "@" in contact:
        return contact.lower() == order.email.lower()
    digits = phone_digits(contact)
    return bool(order.phone) and len(digits) >= 9 and digits == order.phone


@dataclass(frozen=True)
class WriteResult:
    """What a write did: ``done`` with the order as it now is, or why not (the rule's reason code)."""

    done: bool
    order: Order
    reason: str = ""
    reference: str = ""   # a case number, when one was opened
    again: bool = False   # done before, for the same customer message: nothing was written this time


class NotVerified(PermissionError):
    """A change to an order this conversation never proved is the customer's. The bot's own flow cannot
    get here (it verifies first); a forged call to the action server can, and is refused."""


class OrderService:
    def __init__(self, engine: Engine, shop: ShopProfile, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.shop = shop
        self.clock = clock

    # ---- reading ----
    def get(self, number: str) -> Optional[Order]:
        with self.engine.connect() as connection:
            return self._load(connection, number)

    def verify(self, number: str, contact: str, conversation_id: Optional[str] = None) -> Optional[Order]:
        """The order, if ``contact`` is its email or phone; None for a wrong contact *or* no such order.

        With ``conversation_id``, a match is remembered: that conversation may now see and change it."""
        order = self.get(number)
        if order is None or not contact_matches(order, contact):
            return None
        if conversation_id is not None:
            self._remember_verified(conversation_id, number)
        return order

    def _remember_verified(self, conversation_id: str, number: str) -> None:
        table = t.order_verifications
        try:
            with self.engine.begin() as connection:
                order_id = self._order_id(connection, number)
                if order_id is None or self._proved(connection, conversation_id, order_id):
                    return
                now = naive_utc(self.clock())
                connection.execute(table.insert().values(conversation_id=conversation_id, order_id=order_id,
                                                         verified_at=now))
                self._audit(connection, conversation_id, order_id, "verified", {})
                row = connection.execute(select(t.orders.c.email, t.orders.c.phone, t.orders.c.customer_name)
                                         .where(t.orders.c.id == order_id)).one()
                link_conversation(connection, conversation_id, how="order", at=now, email=row.email,
                                  phone=row.phone, name=row.customer_name)
        except IntegrityError:  # the same check, at the same moment, from another process: already there
            pass

    def forget_proofs(self, conversation_id: str) -> None:
        """A new chat in this conversation: its orders must be proved again before they are shown. (Who the
        customer is stays known to the shop, in customer_conversations; the chat just doesn't show it.)"""
        with self.engine.begin() as connection:
            connection.execute(delete(t.order_verifications).where(
                t.order_verifications.c.conversation_id == conversation_id))

    @staticmethod
    def _proved(connection: Connection, conversation_id: str, order_id: int) -> bool:
        table = t.order_verifications
        return connection.execute(select(table.c.order_id).where(
            table.c.conversation_id == conversation_id, table.c.order_id == order_id)).first() is not None

    def verified_order(self, conversation_id: str, number: Optional[str]) -> Optional[Order]:
        """The order, only if this conversation proved it is the customer's (whatever its slots say)."""
        if not number:
            return None
        with self.engine.connect() as connection:
            order_id = self._order_id(connection, number)
            if order_id is None or not self._proved(connection, conversation_id, order_id):
                return None
            return self._load(connection, number)

    def _load(self, connection: Connection, number: str) -> Optional[Order]:
        row = connection.execute(select(t.orders).where(t.orders.c.number == number)).mappings().first()
        if row is None:
            return None
        lines = connection.execute(select(t.order_lines).where(t.order_lines.c.order_id == row["id"])
                                   .order_by(t.order_lines.c.id)).mappings().all()
        shipment = connection.execute(select(t.shipments).where(t.shipments.c.order_id == row["id"])
                                      .order_by(t.shipments.c.id.desc())).mappings().first()
        refunds = connection.execute(select(t.refunds).where(t.refunds.c.order_id == row["id"])
                                     .order_by(t.refunds.c.id)).mappings().all()
        return Order(
            number=row["number"], email=row["email"], phone=row["phone"], customer_name=row["customer_name"],
            status=row["status"], placed_at=_aware(row["placed_at"]),  # type: ignore[arg-type]
            shipping_option=row["shipping_option"], shipping_address=row["shipping_address"],
            total=Decimal(row["total"]), currency=row["currency"],
            lines=tuple(OrderLine(r["product"], r["quantity"], Decimal(r["unit_price"]), r["sku"])
                        for r in lines),
            shipment=Shipment(shipment["carrier"], shipment["tracking_number"], shipment["tracking_url"],
                              _aware(shipment["shipped_at"]),  # type: ignore[arg-type]
                              _aware(shipment["delivered_at"])) if shipment else None,
            refunds=tuple(Refund(r["status"], Decimal(r["amount"]) if r["amount"] is not None else None,
                                 r["reason"], _aware(r["requested_at"]),  # type: ignore[arg-type]
                                 _aware(r["processed_at"])) for r in refunds),
        )

    def _order_id(self, connection: Connection, number: str) -> Optional[int]:
        return connection.execute(select(t.orders.c.id).where(t.orders.c.number == number)).scalar()

    # ---- verification attempts, counted per conversation ----
    def failures(self, conversation_id: str) -> int:
        with self.engine.connect() as connection:
            count = connection.execute(select(t.verification_attempts.c.failures).where(
                t.verification_attempts.c.conversation_id == conversation_id)).scalar()
        return int(count or 0)

    def is_locked(self, conversation_id: str) -> bool:
        return self.failures(conversation_id) >= MAX_VERIFICATION_FAILURES

    def record_failure(self, conversation_id: str) -> int:
        """Count one failed verification; returns the failures so far (locked at 3)."""
        now = naive_utc(self.clock())
        with self.engine.begin() as connection:
            table = t.verification_attempts
            count = connection.execute(select(table.c.failures).where(
                table.c.conversation_id == conversation_id)).scalar()
            if count is None:
                count = 1
                connection.execute(table.insert().values(conversation_id=conversation_id, failures=1,
                                                         updated_at=now))
            else:
                count += 1
                connection.execute(update(table).where(table.c.conversation_id == conversation_id).values(
                    failures=count, updated_at=now,
                    locked_at=now if count >= MAX_VERIFICATION_FAILURES else None))
            self._audit(connection, conversation_id, None, "verification_failed", {"failures": count})
        return count

    # ---- writes ----
    def _audit(self, connection: Connection, conversation_id: Optional[str], order_id: Optional[int],
               action: str, details: Dict[str, Any]) -> None:
        connection.execute(t.audit_log.insert().values(
            at=naive_utc(self.clock()), conversation_id=conversation_id, order_id=order_id, action=action,
            details=json.dumps(details, default=str, ensure_ascii=False)))

    @staticmethod
    def _written_for(connection: Connection, conversation_id: str,
                     message_id: Optional[str]) -> Optional[str]:
        """The reference of the write already made for this customer message, if there was one."""
        if not message_id:
            return None
        table = t.message_writes
        return connection.execute(select(table.c.reference).where(
            table.c.conversation_id == conversation_id, table.c.message_id == message_id)).scalar()

    def _remember_written(self, connection: Connection, conversation_id: str, message_id: Optional[str],
                          reference: str) -> None:
        if message_id:
            connection.execute(t.message_writes.insert().values(
                conversation_id=conversation_id, message_id=message_id[:64], reference=reference,
                at=naive_utc(self.clock())))

    def _write(self, number: str, conversation_id: str, rule: Callable[[Order], Decision],
               change: Callable[[Connection, int, Order], str], message_id: Optional[str] = None
               ) -> WriteResult:
        """Load, check that the conversation proved the order and the rule on the current row, change,
        audit: one transaction."""
        with self.engine.begin() as connection:
            order = self._load(connection, number)
            if order is None:
                raise LookupError(number)
            order_id = self._order_id(connection, number)
            assert order_id is not None
            if not self._proved(connection, conversation_id, order_id):
                raise NotVerified(f"conversation {conversation_id} has not proved order {number}")
            earlier = self._written_for(connection, conversation_id, message_id)
            if earlier is not None:  # the same message came again: what it did stands, nothing twice
                return WriteResult(True, order, reference=earlier, again=True)
            decision = rule(order)
            if not decision.allowed:
                return WriteResult(False, order, decision.reason)
            reference = change(connection, order_id, order)
            self._remember_written(connection, conversation_id, message_id, reference)
            connection.execute(update(t.orders).where(t.orders.c.id == order_id)
                               .values(updated_at=naive_utc(self.clock())))
            updated = self._load(connection, number)
        assert updated is not None
        return WriteResult(True, updated, reference=reference)

    def cancel(self, number: str, conversation_id: str, message_id: Optional[str] = None) -> WriteResult:
        """Cancel if the shop's rule still allows it; a second call finds it already cancelled.

        The cancellation is also a case (``reference``), open until a person marks it refunded: the bot
        has promised the customer their money back, and the shop's own till or web shop still has the
        order until somebody cancels it there too.
        """
        def change(connection: Connection, order_id: int, order: Order) -> str:
            connection.execute(update(t.orders).where(t.orders.c.id == order_id).values(status="cancelled"))
            fee = self.shop.cancellation_fee
            self._audit(connection, conversation_id, order_id, "cancel_order",
                        {"from_status": order.status, "fee": fee})
            refund = max(float(order.total) - fee, 0)
            description = (f"Cancelled by the assistant at the customer's request (the order was "
                           f"{order.status}). Refund due: {self.shop.money(refund)}"
                           + (f" (the total less the {self.shop.money(fee)} fee)." if fee else "."))
            return self._insert_case(connection, "cancellation", order_id, order.items_text(), description,
                                     conversation_id, remedy="refund", contact=order.email)
        return self._write(number, conversation_id, lambda o: can_cancel(o, self.shop), change, message_id)

    def change_address(self, number: str, address: str, conversation_id: str,
                       message_id: Optional[str] = None) -> WriteResult:
        def change(connection: Connection, order_id: int, order: Order) -> str:
            connection.execute(update(t.orders).where(t.orders.c.id == order_id)
                               .values(shipping_address=address))
            connection.execute(t.order_changes.insert().values(
                order_id=order_id, kind="address", details=address, created_at=naive_utc(self.clock()),
                conversation_id=conversation_id))
            self._audit(connection, conversation_id, order_id, "change_address",
                        {"from": order.shipping_address, "to": address})
            return ""
        return self._write(number, conversation_id, can_change, change, message_id)

    def request_item_change(self, number: str, details: str, conversation_id: str,
                            message_id: Optional[str] = None) -> WriteResult:
        """Record what the customer wants changed; the shop adjusts the order before packing it."""
        def change(connection: Connection, order_id: int, order: Order) -> str:
            connection.execute(t.order_changes.insert().values(
                order_id=order_id, kind="items", details=details, created_at=naive_utc(self.clock()),
                conversation_id=conversation_id))
            self._audit(connection, conversation_id, order_id, "change_items", {"request": details})
            return ""
        return self._write(number, conversation_id, can_change, change, message_id)

    def record_return(self, number: str, items: str, reason: str, conversation_id: str,
                      refund: bool = False, message_id: Optional[str] = None) -> WriteResult:
        """A return inside the window; with ``refund`` also a refund request for the shop to approve."""
        def change(connection: Connection, order_id: int, order: Order) -> str:
            now = naive_utc(self.clock())
            connection.execute(t.returns.insert().values(
                order_id=order_id, items=items, reason=reason, status="requested", created_at=now,
                conversation_id=conversation_id))
            if refund:
                connection.execute(t.refunds.insert().values(
                    order_id=order_id, amount=None, status="requested", reason=f"{items}: {reason}",
                    requested_at=now, conversation_id=conversation_id))
            self._audit(connection, conversation_id, order_id, "refund_request" if refund else "return",
                        {"items": items, "reason": reason})
            return ""
        return self._write(number, conversation_id, lambda o: can_return(o, self.shop, self.clock()), change,
                           message_id)

    def open_case(self, category: str, number: Optional[str], items: str, description: str,
                  conversation_id: str, remedy: Optional[str] = None, photo_path: Optional[str] = None,
                  contact: Optional[str] = None, message_id: Optional[str] = None) -> str:
        """Record a damaged / wrong / missing item or late order case (or a complaint); returns its number.
        The same customer message again gets the case it opened the first time."""
        with self.engine.begin() as connection:
            earlier = self._written_for(connection, conversation_id, message_id)
            if earlier is not None:
                return earlier
            order_id = self._order_id(connection, number) if number else None
            case_number = self._insert_case(connection, category, order_id, items, description,
                                            conversation_id, remedy, photo_path, contact)
            self._remember_written(connection, conversation_id, message_id, case_number)
            return case_number

    def _insert_case(self, connection: Connection, category: str, order_id: Optional[int], items: str,
                     description: str, conversation_id: str, remedy: Optional[str] = None,
                     photo_path: Optional[str] = None, contact: Optional[str] = None) -> str:
        result = connection.execute(t.cases.insert().values(
            category=category, order_id=order_id, items=items, description=description, remedy=remedy,
            photo_path=photo_path, contact=contact, status="open", created_at=naive_utc(self.clock()),
            conversation_id=conversation_id))
        case_id = result.inserted_primary_key[0]
        case_number = f"C-{1000 + case_id}"
        if contact:
            link_conversation(connection, conversation_id, at=naive_utc(self.clock()), email=contact,
                              how="complaint" if category == "complaint" else "ticket")
        connection.execute(update(t.cases).where(t.cases.c.id == case_id).values(number=case_number))
        self._audit(connection, conversation_id, order_id, "open_case",
                    {"case": case_number, "category": category, "remedy": remedy})
        return case_number

    def case_id(self, case_number: str) -> Optional[int]:
        with self.engine.connect() as connection:
            return connection.execute(select(t.cases.c.id).where(t.cases.c.number == case_number)).scalar()

    # ---- loading orders (demo seed, CSV imports) ----
    def count_orders(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(t.orders)).scalar() or 0)

    def upsert_orders(self, orders: List[Order], source: str) -> None:
        """Insert or replace orders by number, with their lines and shipment, all in one transaction.

        What the bot recorded about an order (refund requests, returns, changes, cases, audit) is kept.
        """
        now = naive_utc(self.clock())
        with self.engine.begin() as connection:
            for order in orders:
                phone = phone_digits(order.phone) if order.phone else None
                values = dict(email=order.email.lower(), phone=phone, customer_name=order.customer_name,
                              status=order.status, placed_at=naive_utc(order.placed_at),
                              shipping_option=order.shipping_option, shipping_address=order.shipping_address,
                              total=order.total, currency=order.currency, source=source, updated_at=now)
                order_id = self._order_id(connection, order.number)
                if order_id is None:
                    order_id = connection.execute(t.orders.insert().values(number=order.number, **values)) \
                        .inserted_primary_key[0]
                else:
                    connection.execute(update(t.orders).where(t.orders.c.id == order_id).values(**values))
                    connection.execute(delete(t.order_lines).where(t.order_lines.c.order_id == order_id))
                    connection.execute(delete(t.shipments).where(t.shipments.c.order_id == order_id))
                for line in order.lines:
                    connection.execute(t.order_lines.insert().values(
                        order_id=order_id, product=line.product, sku=line.sku, quantity=line.quantity,
                        unit_price=line.unit_price))
                if order.shipment:
                    s = order.shipment
                    connection.execute(t.shipments.insert().values(
                        order_id=order_id, carrier=s.carrier, tracking_number=s.tracking_number,
                        tracking_url=s.tracking_url, shipped_at=naive_utc(s.shipped_at),
                        delivered_at=naive_utc(s.delivered_at) if s.delivered_at else None))
                existing = connection.execute(select(func.count()).select_from(t.refunds)
                                              .where(t.refunds.c.order_id == order_id)).scalar()
                if not existing:
                    for refund in order.refunds:
                        connection.execute(t.refunds.insert().values(
                            order_id=order_id, amount=refund.amount, status=refund.status,
                            reason=refund.reason,
                            requested_at=naive_utc(refund.requested_at),
                            processed_at=naive_utc(refund.processed_at) if refund.processed_at else None))
