"""The demo shop's orders, one in every state, so anyone can try each flow (listed in README.md).

Dates are relative to the day of seeding: the late order is late and the returnable one is inside
the return window whenever `make run` first starts.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Dict, List

from actions.services.order_rules import Order, OrderLine, Refund, Shipment
from actions.services.orders import OrderService

STANDARD = "Standard (Royal Mail 2nd Class)"
EXPRESS = "Express (DPD next working day)"
ADDRESS = "Flat 3, 21 Gloucester Road, Bristol BS7 8AA, United Kingdom"


def _line(product: str, quantity: int, price: str) -> OrderLine:
    return OrderLine(product, quantity, Decimal(price))


def _royal_mail(number: str, shipped: dt.datetime, delivered: dt.datetime | None = None) -> Shipment:
    return Shipment("Royal Mail", number, f"https://www.royalmail.com/track-your-item#/tracking-results/{number}",
                    shipped, delivered)


def demo_orders(now: dt.datetime) -> List[Order]:
    def ago(days: float) -> dt.datetime:
        return now - dt.timedelta(days=days)

    def order(number: str, email: str, status: str, placed: dt.datetime, lines: List[OrderLine],
              **kw: Any) -> Order:
        total = sum((line.unit_price * line.quantity for line in lines), Decimal("0")) + Decimal("3.95")
        fields: Dict[str, Any] = dict(phone=None, customer_name="", shipping_option=STANDARD,
                                      shipping_address=ADDRESS, currency="GBP")
        fields.update(kw)
        return Order(number=number, email=email, status=status, placed_at=placed, lines=tuple(lines),
                     total=total, **fields)

    return [
        order("KC-10001", "alex.morgan@example.com", "paid", ago(0.1),
              [_line("House Espresso Blend 250 g", 2, "9.50"), _line("Ceramic Mug", 1, "12.00")],
              customer_name="Alex Morgan", phone="447700900101"),
        order("KC-10002", "sam.patel@example.com", "packed", ago(1),
              [_line("Hario V60", 1, "24.00")], customer_name="Sam Patel", phone="447700900102"),
        order("KC-10003", "jo.baker@example.com", "shipped", ago(2),
              [_line("Ethiopia Yirgacheffe 250 g", 1, "12.90"), _line("Earl Grey 100 g", 1, "6.50")],
              customer_name="Jo Baker", shipment=_royal_mail("RM123456785GB", ago(1))),
        order("KC-10004", "chris.evans@example.com", "delivered", ago(8),
              [_line("Ceramic Mug", 2, "12.00"), _line("Milk Frother", 1, "34.00")],
              customer_name="Chris Evans", phone="447700900104",
              shipment=_royal_mail("RM223456789GB", ago(7), ago(5))),
        order("KC-10005", "dana.white@example.com", "delivered", ago(60),
              [_line("Travel Tumbler", 1, "18.00")], customer_name="Dana White",
              shipment=_royal_mail("RM323456783GB", ago(59), ago(56))),
        order("KC-10006", "lee.young@example.com", "cancelled", ago(12),
              [_line("Gift Card", 1, "25.00")], customer_name="Lee Young"),
        order("KC-10007", "mo.khan@example.com", "refunded", ago(30),
              [_line("Subscription Box", 1, "30.00")], customer_name="Mo Khan",
              shipment=_royal_mail("RM423456787GB", ago(29), ago(27)),
              refunds=(Refund("paid", Decimal("33.95"), "Arrived damaged", ago(25), ago(22)),)),
        order("KC-10008", "pat.green@example.com", "shipped", ago(12),
              [_line("House Espresso Blend 250 g", 3, "9.50")], customer_name="Pat Green",
              shipment=_royal_mail("RM523456781GB", ago(11))),  # Standard is 2–4 working days: late
        order("KC-10009", "ria.shah@example.com", "delivered", ago(10),
              [_line("Chemex", 1, "45.00")], customer_name="Ria Shah", shipping_option=EXPRESS,
              shipment=Shipment("DPD", "15501234567890", "https://track.dpd.co.uk/parcels/15501234567890",
                                ago(9), ago(8)),
              refunds=(Refund("requested", None, "Chemex: cracked glass", ago(3)),)),
    ]


def seed_demo_orders(service: OrderService) -> int:
    """Load the demo orders into an empty orders table; returns how many were added (0 if not empty)."""
    if service.count_orders():
        return 0
    orders = demo_orders(service.clock())
    service.upsert_orders(orders, source="demo")
    return len(orders)
