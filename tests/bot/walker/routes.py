"""How a fresh conversation reaches each form's questions: opening messages per form, and a fresh copy
of a demo order in the right state for each conversation (a cancellation in one path must not change
the order another path needs).

A form in domain.yml without an entry here fails test_every_form_has_a_route, naming it: add a route.
"""
from __future__ import annotations

import dataclasses
import itertools
import uuid
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from actions.services.demo_orders import demo_orders
from actions.services.orders import OrderService


def choice(value: str) -> str:
    """What the widget sends for a quick reply that fills a slot with exactly ``value``."""
    return '/inform{"choice": "' + value + '"}'


def rating(value: int) -> str:
    return f'/inform{{"rating": "{value}"}}'


@dataclass(frozen=True)
class Route:
    """Messages that take a fresh conversation through a form; each reply may ask a question the walker
    then answers in every way. ``order_like`` names the demo order whose state the conversation needs."""

    name: str
    steps: Tuple[str, ...]
    order_like: Optional[str] = None


def _order(name: str, opening: str, like: str, *then: str) -> Route:
    return Route(name, (opening, "{order}", "{email}", *then), like)


# Keyed by form. The order form's questions depend on the task (actions/order_flow.task_slots) and the
# order's state (actions/services/demo_orders.py has one in every state).
ROUTES: Dict[str, Tuple[Route, ...]] = {
    "order_form": (
        _order("order status", "where is my order", "KC-10003"),
        _order("cancel a paid order", "I want to cancel my order", "KC-10001", "/affirm"),
        _order("change items", "I'd like to change my order", "KC-10001", "make it two mugs instead of one",
               "/affirm"),
        _order("change the address", "I need to change my delivery address", "KC-10001",
               "5 Park Street, Bath BA1 2AB", "/affirm"),
        _order("return", "I want to return something", "KC-10004", choice("Ceramic Mug"),
               choice("No longer needed")),
        _order("refund", "I want a refund", "KC-10004", choice("Milk Frother"),
               choice("Not what I expected")),
        _order("damaged item", "my order arrived damaged", "KC-10004", choice("Ceramic Mug"),
               "the handle snapped off", choice("replacement")),
        _order("wrong item", "I received the wrong item", "KC-10004", choice("Milk Frother"),
               "a tea strainer came instead", choice("refund")),
        _order("missing item", "something is missing from my parcel", "KC-10004", choice("Milk Frother"),
               "the box came without it", choice("person")),
        _order("late order, then a case", "where is my order", "KC-10008", "/missing_item",
               choice("The whole parcel"), "no parcel ever arrived", choice("replacement")),
        _order("refund status", "where is my refund", "KC-10009"),
    ),
    "complaint_form": (
        Route("complaint", ("I want to make a complaint", "the barista was rude and my flat white was cold",
                            choice("none"), "{email}")),
        # the verified order's email is used: the customer is not asked for it again
        Route("complaint after a verified order",
              ("where is my order {order}? my email is {email}", "I want to make a complaint",
               "the beans were stale", choice("{order}")), "KC-10003"),
    ),
    "ticket_form": (  # nobody uses the console in the walker's database, so a person means a ticket
        Route("a person, nobody at the console", ("can I talk to a real person please", "{email}")),
        Route("a person in the middle of an order flow",
              ("where is my order", "I'd like to speak to a person", "{email}")),
    ),
    "feedback_form": (
        Route("rating after a question", ("what are your opening hours", "thanks", rating(4),
                                          "lovely coffee and quick delivery", rating(3),
                                          "reply to emails a bit faster")),
        Route("feedback any time",
              ("I want to leave feedback", "the website is slow on my phone", rating(5))),
    ),
}
# Conversations without a form, for the buttons the bot offers at the start.
OPENINGS: Tuple[Route, ...] = (Route("hello", ("hi",)),
                               Route("a shop question", ("what are your opening hours",)))


@dataclass(frozen=True)
class Context:
    """One conversation's own values for the templates."""

    sender: str
    order: str
    email: str

    @property
    def values(self) -> Dict[str, str]:
        digits = self.order.split("-")[-1]
        return {"order": self.order, "digits": digits, "order_loose": self.order.replace("-", "").lower(),
                "email": self.email}

    def fill(self, template: str) -> str:
        for name, value in self.values.items():
            template = template.replace("{" + name + "}", value)
        return template

    def template_of(self, text: str) -> str:
        """The inverse of fill, for the bot's words: this conversation's order and address as placeholders."""
        for name in ("order", "email"):
            value = self.values[name]
            if value:
                text = text.replace(value, "{" + name + "}")
        return text


class OrderCopies:
    """A fresh copy of a demo order, with its own number and email, for each conversation."""

    def __init__(self, orders: OrderService) -> None:
        self.orders = orders
        self.numbers = itertools.count(20001)
        self.demo = {order.number: order for order in demo_orders(orders.clock())}

    def context(self, route: Route, prefix: str = "walk") -> Context:
        sender = f"{prefix}-{uuid.uuid4().hex[:12]}"
        n = next(self.numbers)
        # Every conversation gets a real order, so a typed order number (a complaint's) is one of ours.
        like = self.demo[route.order_like or "KC-10003"]
        local = like.email.split("@")[0]
        copy = dataclasses.replace(like, number=f"KC-{n}", email=f"{local}{n}@example.com")
        self.orders.upsert_orders([copy], source="demo")
        return Context(sender, copy.number, copy.email)
