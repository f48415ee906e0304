"""Conversations become a customer's when they prove an email or phone: a verified order, a ticket, a case."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.customers.identity import (
    conversations_of,
    customer_by_contact,
    customers_of,
    link_conversation,
)
from actions.services.demo_orders import demo_orders
from actions.services.handoffs import HandoffQueue
from actions.services.orders import OrderService

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


def orders_in(engine, shop) -> OrderService:
    service = OrderService(engine, shop, clock=lambda: NOW)
    service.upsert_orders(demo_orders(NOW), source="demo")
    return service


def customer_rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(t.customers.c.id, t.customers.c.name)).all()


def test_a_verified_order_links_the_conversation_to_its_customer_by_email_and_phone(engine, shop):
    orders = orders_in(engine, shop)
    assert orders.verify("KC-10001", "alex.morgan@example.com", "conv-1") is not None
    assert orders.verify("KC-10001", "07700 900101", "conv-2") is not None  # the phone, another day

    (customer,) = customer_rows(engine)
    assert customer.name == "Alex Morgan"
    with engine.connect() as connection:
        assert customers_of(connection, "conv-1") == customers_of(connection, "conv-2") == [customer.id]
        assert conversations_of(connection, customer.id) == ["conv-1", "conv-2"]
        assert customer_by_contact(connection, "Alex.Morgan@example.com") == customer.id
        assert customer_by_contact(connection, "447700900101") == customer.id


def test_a_failed_check_links_nothing(engine, shop):
    orders = orders_in(engine, shop)
    assert orders.verify("KC-10001", "someone@example.com", "conv-1") is None
    assert customer_rows(engine) == []


def test_a_ticket_email_joins_the_customer_who_proved_it_before(engine, shop):
    orders = orders_in(engine, shop)
    orders.verify("KC-10003", "jo.baker@example.com", "conv-order")
    HandoffQueue(engine, clock=lambda: NOW).request(
        "conv-ticket",
        "human_handoff",
        {},
        contact_email="JO.BAKER@example.com",
        ticket_due=NOW + dt.timedelta(hours=4),
    )
    orders.open_case("complaint", None, "", "rude courier", "conv-complaint", contact="jo.baker@example.com")
    (customer,) = customer_rows(engine)
    with engine.connect() as connection:
        links = connection.execute(
            select(t.customer_conversations.c.conversation_id, t.customer_conversations.c.how).order_by(
                t.customer_conversations.c.conversation_id
            )
        ).all()
    assert links == [("conv-complaint", "complaint"), ("conv-order", "order"), ("conv-ticket", "ticket")]


def test_contacts_join_the_customer_they_prove_and_two_customers_are_never_merged(engine):
    at = NOW.replace(tzinfo=None)
    with engine.begin() as connection:
        alex = link_conversation(
            connection, "c1", how="order", at=at, email="a@example.com", phone="441234567890"
        )
        # an order with a new email and Alex's phone: the conversation proved both, so both are Alex's
        again = link_conversation(
            connection, "c2", how="order", at=at, email="a2@example.com", phone="441234567890"
        )
        sam = link_conversation(connection, "c3", how="ticket", at=at, email="s@example.com")
        # Sam's email on an order with Alex's phone (a shared family phone): Sam's, and the phone stays Alex's
        shared = link_conversation(
            connection, "c4", how="order", at=at, email="s@example.com", phone="441234567890"
        )
        nothing = link_conversation(connection, "c5", how="ticket", at=at)
    assert again == alex and shared == sam != alex and nothing is None
    with engine.connect() as connection:
        assert customer_by_contact(connection, "a2@example.com") == alex
        assert customer_by_contact(connection, "441234567890") == alex


def test_linking_twice_changes_nothing(engine):
    at = NOW.replace(tzinfo=None)
    for _ in range(2):
        with engine.begin() as connection:
            link_conversation(connection, "c1", how="ticket", at=at, email="a@example.com")
    with engine.connect() as connection:
        assert len(connection.execute(select(t.customer_conversations)).all()) == 1
        assert len(connection.execute(select(t.customer_contacts)).all()) == 1


def test_two_processes_proving_the_same_new_email_at_once_make_one_customer(postgres_url):
    """On PostgreSQL the second insert of the contact waits for the first transaction, then does nothing;
    the second's own new customer is dropped for the first's."""
    import threading

    from actions.services.database import create_database_engine
    from actions.services.migrations import migrate

    engine = create_database_engine(postgres_url)
    migrate(engine)
    at = NOW.replace(tzinfo=None)
    first = engine.connect()
    first_transaction = first.begin()
    mine = link_conversation(first, "c1", how="ticket", at=at, email="new@example.com")
    theirs: list = []

    def second_process() -> None:
        with engine.begin() as connection:
            theirs.append(link_conversation(connection, "c2", how="ticket", at=at, email="new@example.com"))

    racing = threading.Thread(target=second_process)
    racing.start()
    racing.join(timeout=1)
    assert racing.is_alive()  # waiting on the first transaction's contact row
    first_transaction.commit()
    first.close()
    racing.join(timeout=10)
    assert theirs == [mine]
    with engine.connect() as connection:
        assert len(connection.execute(select(t.customers)).all()) == 1
        assert conversations_of(connection, mine) == ["c1", "c2"]
    engine.dispose()
