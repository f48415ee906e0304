"""Schema migrations for the project's own tables: numbered steps, each applied once, in order.

``migrate(engine)`` records every applied step in ``schema_migrations``, so running it at every
start is cheap and safe. A later change to the schema is a new step at the end of MIGRATIONS
(ALTER TABLE ...), never an edit of a step that may already have run somewhere.
"""
from __future__ import annotations

import datetime as dt
import fcntl
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, List, Sequence

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, Engine

from actions.services import order_tables as t


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _create_order_tables(connection: Connection) -> None:
    for table in (t.orders, t.order_lines, t.shipments, t.refunds, t.returns, t.order_changes, t.cases,
                  t.audit_log, t.verification_attempts):
        table.create(connection)


def _create_owners(connection: Connection) -> None:
    t.owners.create(connection)


def _create_handoff_tables(connection: Connection) -> None:
    for table in (t.handoffs, t.handoff_notes, t.canned_replies):
        table.create(connection)


def _add_owner_presence(connection: Connection) -> None:
    # Databases made after this column joined the table definition have it from step 2 already.
    if "last_seen_at" not in {c["name"] for c in inspect(connection).get_columns("owners")}:
        connection.execute(text("ALTER TABLE owners ADD COLUMN last_seen_at TIMESTAMP"))


# A new shop starts with a few replies the owner can edit or delete in the console.
DEFAULT_CANNED_REPLIES = (
    ("Hello", "Hello, this is {name} from the team. I've read the conversation above; let me help."),
    ("Checking", "Thanks for waiting. I'm checking this now and will be back with you in a few minutes."),
    ("Sorry", "I'm sorry about this; it isn't the experience we want you to have. Here is what I'll do:"),
    ("Back to the bot", "Is there anything else I can do for you? If not, the assistant will take it "
                        "from here."),
)


def _create_digests_and_canned_replies(connection: Connection) -> None:
    t.digests_sent.create(connection)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    connection.execute(t.canned_replies.insert(),
                       [{"title": title, "text": text_, "created_at": now}
                        for title, text_ in DEFAULT_CANNED_REPLIES])


def _create_feedback(connection: Connection) -> None:
    t.feedback.create(connection)


def _create_bot_errors(connection: Connection) -> None:
    t.bot_errors.create(connection)


def _create_chat_delivery(connection: Connection) -> None:
    t.outbound_messages.create(connection)
    t.chat_presence.create(connection)


def _create_console_sessions(connection: Connection) -> None:
    t.console_sessions.create(connection)


def _create_order_verifications(connection: Connection) -> None:
    t.order_verifications.create(connection)


def _create_failed_order_checks(connection: Connection) -> None:
    t.failed_order_checks.create(connection)


def _create_message_writes(connection: Connection) -> None:
    t.message_writes.create(connection)


def _create_products(connection: Connection) -> None:
    t.products.create(connection)
    t.product_variants.create(connection)


def _add_owner_roles(connection: Connection) -> None:
    # Accounts made before roles were the owner's; databases made after have the column from step 2.
    if "roles" not in {c["name"] for c in inspect(connection).get_columns("owners")}:
        connection.execute(text("ALTER TABLE owners ADD COLUMN roles VARCHAR(32) NOT NULL DEFAULT 'owner'"))


def _create_inbox_decisions(connection: Connection) -> None:
    t.inbox_decisions.create(connection)


def _create_conversation_reviews(connection: Connection) -> None:
    t.conversation_reviews.create(connection)
    t.flagged_turns.create(connection)


def _create_model_tables(connection: Connection) -> None:
    for table in (t.models, t.model_activations, t.training_jobs):
        table.create(connection)


def _add_training_job_slot(connection: Connection) -> None:
    # Databases made after the column joined the table definition have it, and its index, from step 17.
    if "running_slot" not in {c["name"] for c in inspect(connection).get_columns("training_jobs")}:
        connection.execute(text("ALTER TABLE training_jobs ADD COLUMN running_slot INTEGER"))
        connection.execute(text("UPDATE training_jobs SET running_slot = 1 WHERE id = (SELECT max(id) FROM "
                                "training_jobs WHERE stage IN ('starting', 'training', 'evaluating'))"))
    index = "one_training_job_at_a_time"
    if index not in {i["name"] for i in inspect(connection).get_indexes("training_jobs")}:
        connection.execute(text(f"CREATE UNIQUE INDEX {index} ON training_jobs (running_slot)"))


def _create_login_failures(connection: Connection) -> None:
    t.login_failures.create(connection)


def _create_customers(connection: Connection) -> None:
    for table in (t.customers, t.customer_contacts, t.customer_conversations, t.customer_followups):
        table.create(connection)


_DELIVERY_ATTEMPT_COLUMNS = (("attempts", "INTEGER NOT NULL DEFAULT 0"), ("next_attempt_at", "TIMESTAMP"),
                             ("claimed_until", "TIMESTAMP"), ("failed_at", "TIMESTAMP"),
                             ("error", "VARCHAR(300)"), ("provider_message_id", "VARCHAR(200)"))


def _create_channel_tables(connection: Connection) -> None:
    # Databases made after these columns joined the table definition have them from step 8 already.
    present = {c["name"] for c in inspect(connection).get_columns("outbound_messages")}
    for name, kind in _DELIVERY_ATTEMPT_COLUMNS:
        if name not in present:
            connection.execute(text(f"ALTER TABLE outbound_messages ADD COLUMN {name} {kind}"))
    if "ix_outbound_messages_provider_message_id" not in {
            i["name"] for i in inspect(connection).get_indexes("outbound_messages")}:
        connection.execute(text("CREATE INDEX ix_outbound_messages_provider_message_id "
                                "ON outbound_messages (provider_message_id)"))
    for table in (t.channel_conversations, t.channel_inbox):
        table.create(connection)


MIGRATIONS: List[Migration] = [
    Migration(1, "orders, lines, shipments, refunds, returns, changes, cases, audit log, verification",
              _create_order_tables),
    Migration(2, "console accounts", _create_owners),
    Migration(3, "handoffs, notes on them, canned replies", _create_handoff_tables),
    Migration(4, "when each console account was last seen", _add_owner_presence),
    Migration(5, "daily digests sent, default canned replies", _create_digests_and_canned_replies),
    Migration(6, "customer feedback: ratings, comments, thumbs", _create_feedback),
    Migration(7, "errors the bot hit while answering", _create_bot_errors),
    Migration(8, "a person's messages kept until the widget has them; whether the widget is connected",
              _create_chat_delivery),
    Migration(9, "console sign-ins, ended by sign-out or a password change", _create_console_sessions),
    Migration(10, "orders each conversation proved are the customer's", _create_order_verifications),
    Migration(11, "failed order checks, counted per order, per client and overall",
              _create_failed_order_checks),
    Migration(12, "writes made for a customer's message, so the same message again writes nothing twice",
              _create_message_writes),
    Migration(13, "the shop's products imported from its Shopify or WooCommerce export", _create_products),
    Migration(14, "the trainer's decisions on missed customer messages", _create_inbox_decisions),
    Migration(15, "console accounts' roles: owner, trainer or both", _add_owner_roles),
    Migration(16, "the trainer's reviews of conversations: reviewed, tags, flagged turns",
              _create_conversation_reviews),
    Migration(17, "trained models, which one answers, training jobs", _create_model_tables),
    Migration(18, "one training job at a time, held by the database", _add_training_job_slot),
    Migration(19, "failed console sign-ins, counted in the database for every web process",
              _create_login_failures),
    Migration(20, "customers: their emails and phones, their conversations, the owner's follow-ups",
              _create_customers),
    Migration(21, "conversations on WhatsApp, Messenger, Instagram and Telegram; their webhooks' messages; "
                  "sending tries", _create_channel_tables),
]


# Any 64-bit number, the same in every process: PostgreSQL's advisory lock that one migrator holds.
_MIGRATION_LOCK_KEY = 7_401_117_017


@contextmanager
def one_migrator(engine: Engine) -> Iterator[None]:
    """Held while the schema is brought up to date: processes that start at once on a new database (a
    cluster: several web processes and action servers) would otherwise create the same tables together,
    and all but one would fail. The others wait here, then find nothing left to do."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock_file:  # beside the database: one machine's processes
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def migrate(engine: Engine, steps: Sequence[Migration] = ()) -> List[int]:
    """Apply the steps (default: all of MIGRATIONS) this database has not had yet; returns them."""
    with one_migrator(engine):
        t.schema_migrations.create(engine, checkfirst=True)
        with engine.connect() as connection:
            done = set(connection.execute(select(t.schema_migrations.c.version)).scalars())
        applied = []
        for migration in steps or MIGRATIONS:
            if migration.version in done:
                continue
            with engine.begin() as connection:  # the step and its record commit together
                migration.apply(connection)
                connection.execute(t.schema_migrations.insert().values(
                    version=migration.version, name=migration.name,
                    applied_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))
            applied.append(migration.version)
    return applied
