"""The project's own tables: orders, what the bot did with them, console accounts (SQLAlchemy Core).

They live in the same database as Rasa's tracker store (SQLite file by default, PostgreSQL by
DATABASE_URL); the names do not collide with Rasa's ``events`` table. Changes to this schema go
through ``actions/services/migrations.py``; nothing here creates tables by itself.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# paid -> packed -> shipped -> delivered; or cancelled / refunded at any point the rules allow.
ORDER_STATUSES = ("paid", "packed", "shipped", "delivered", "cancelled", "refunded")

orders = Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),  # canonical form, e.g. KC-10482
    Column("email", String(254), nullable=False),                # lower case
    Column("phone", String(32)),                                 # digits only, with country code
    Column("customer_name", String(200), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("placed_at", DateTime, nullable=False),                # UTC, naive
    Column("shipping_option", String(200), nullable=False),      # a name from shop.yml's shipping options
    Column("shipping_address", Text, nullable=False, default=""),
    Column("total", Numeric(10, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(16), nullable=False),                 # demo, shopify, woocommerce
    Column("updated_at", DateTime, nullable=False),
)

order_lines = Table(
    "order_lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("product", String(200), nullable=False),
    Column("sku", String(64)),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(10, 2), nullable=False),
)

shipments = Table(
    "shipments", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("carrier", String(100), nullable=False),
    Column("tracking_number", String(100)),
    Column("tracking_url", String(500)),
    Column("shipped_at", DateTime, nullable=False),
    Column("delivered_at", DateTime),
)

refunds = Table(
    "refunds", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("amount", Numeric(10, 2)),                 # None until the shop decides the amount
    Column("status", String(16), nullable=False),     # requested, approved, paid, rejected
    Column("reason", Text, nullable=False, default=""),
    Column("requested_at", DateTime, nullable=False),
    Column("processed_at", DateTime),
    Column("conversation_id", String(255)),
)

returns = Table(
    "returns", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("items", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),     # requested, label_sent, received, closed
    Column("created_at", DateTime, nullable=False),
    Column("conversation_id", String(255)),
)

order_changes = Table(
    "order_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),       # items, address
    Column("details", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("conversation_id", String(255)),
)

# Cases: damaged / wrong / missing items, late orders, cancellations the bot did, complaints. The owner
# settles them in the console (actions/services/cases.py); every status change has an audit_log row.
cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(16), unique=True),   # shown to the customer, C-1042; set from the id on insert
    Column("category", String(16), nullable=False),  # damaged, wrong, missing, late, cancellation, complaint
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("items", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("remedy", String(16)),                               # replacement, refund, person
    Column("photo_path", String(500)),                          # under var/uploads/
    Column("contact", String(254)),
    Column("status", String(16), nullable=False),    # open, replaced, refunded, closed (resolved: older rows)
    Column("created_at", DateTime, nullable=False),
    Column("conversation_id", String(255)),
)

# Every change the bot made, in the same transaction as the change itself.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("conversation_id", String(255)),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("action", String(32), nullable=False),
    Column("details", Text, nullable=False, default=""),  # JSON
)

# Failed order verifications per conversation, counted here so the client cannot reset them.
verification_attempts = Table(
    "verification_attempts", metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
)

# Console accounts (the shop's owner and staff); passwords as scrypt hashes (actions/services/passwords.py).
owners = Table(
    "owners", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # lower case
    Column("name", String(100), nullable=False),               # shown to customers on the person's replies
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
    Column("last_seen_at", DateTime),  # the console's last request: is somebody there to take a chat?
    # What the account may do in the console: "owner" (cases, chats, figures), "trainer" (missed messages,
    # training data, models) or both, comma-separated.
    Column("roles", String(32), nullable=False, server_default="owner"),
)

# A conversation handed to a person: waiting in the queue, active (a person owns it and the bot is
# silent), a ticket (answered by email later), resolved, or handed back to the bot.
HANDOFF_STATUSES = ("waiting", "active", "ticket", "resolved", "returned")
handoffs = Table(
    "handoffs", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("reason", String(32), nullable=False),       # human_handoff, complaint, fallback, order_case
    Column("summary", Text, nullable=False, default="{}"),  # JSON: intent, order, verified, complaint text
    Column("contact_email", String(254)),
    Column("owner_id", Integer, ForeignKey("owners.id", ondelete="SET NULL")),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL")),
    Column("tags", Text, nullable=False, default=""),    # comma-separated
    Column("created_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    Column("closed_at", DateTime),                      # resolved or handed back
    Column("reply_due_at", DateTime),                   # tickets: what the customer was promised
)

handoff_notes = Table(
    "handoff_notes", metadata,
    Column("id", Integer, primary_key=True),
    Column("handoff_id", Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("owner_id", Integer, ForeignKey("owners.id", ondelete="SET NULL")),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

canned_replies = Table(
    "canned_replies", metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

digests_sent = Table(  # one row per shop day: several web processes send one digest between them
    "digests_sent",
    metadata,
    Column("day", Date, primary_key=True),
    Column("sent_at", DateTime, nullable=False),
)

# Ratings, comments and thumbs from customers (the feedback issue). One row per answer the customer gave:
# csat (score 1-5, optional comment), nps (score 0-10, optional comment), feedback (a comment given any
# time, score 1-5 optional), thumb (score +1 / -1 on one bot answer, message_text is that answer).
# declined: the customer said "no thanks" to the question (score NULL); it still counts as asked.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("score", Integer),
    Column("comment", Text, nullable=False, default=""),
    Column("declined", Boolean, nullable=False, default=False),
    Column("intent", String(64), nullable=False, default=""),   # the intent the bot was serving
    Column("with_person", Boolean, nullable=False, default=False),  # a person took part in the conversation
    Column("message_text", Text, nullable=False, default=""),   # thumbs: the answer that was rated
    Column("customer_key", String(254), nullable=False, default=""),  # NPS once per 90 days: email or id
    Column("created_at", DateTime, nullable=False),            # UTC, naive
)

# What went wrong while the bot answered (issue 12): an exception inside an action, or a turn the bot had no
# answer for. The customer got an apology either way; this is what the owner sees in the console and
# /health, with the conversation to look at.
bot_errors = Table(
    "bot_errors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("kind", String(16), nullable=False),             # action_failed | no_answer
    Column("action", String(100), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),     # exception type and message, or the intent
    Column("created_at", DateTime, nullable=False, index=True),  # UTC, naive
)

# What a person (or the bot, when a person hands a chat back) sends into a chat outside the customer's turn
# (issue 12): a reply, "Mara joined the chat", a closing notice. Stored before it is sent and kept until the
# customer's widget acknowledges it, so a closed tab gets it, in order, when the customer comes back.
outbound_messages = Table(
    "outbound_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("kind", String(16), nullable=False),                 # reply | joined | left | closed | bot
    Column("sender_name", String(100), nullable=False, default=""),
    Column("via", String(8), nullable=False, default="chat"),   # chat | email (also shown in the chat)
    Column("payload", Text, nullable=False),                    # JSON: what the widget is sent
    Column("created_at", DateTime, nullable=False),             # UTC, naive
    Column("mailed_at", DateTime),                              # via email: the SMTP server took it
    Column("delivered_at", DateTime),                           # the widget acknowledged it
    # On a messaging channel (issue 19) the provider's API takes it instead of a widget: the tries so far,
    # when the next may go, which process holds it now, and the failure that ended the tries.
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime),                        # UTC, naive; none: now
    Column("claimed_until", DateTime),                          # a process is sending it until then
    Column("failed_at", DateTime),                              # given up: the console shows error
    Column("error", String(300)),
    Column("provider_message_id", String(200), index=True),     # the platform's id (WhatsApp's wamid)
)

# Whether a customer's widget is connected, for every web process and the console: open sockets per
# conversation, refreshed while they stay open (a process that dies stops refreshing, so it fades out).
chat_presence = Table(
    "chat_presence",
    metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("sockets", Integer, nullable=False, default=0),
    Column("seen_at", DateTime, nullable=False),                # UTC, naive
)

# Console sign-ins (issue 13): the cookie carries a random token, the table its SHA-256, so a stolen copy
# of the database opens nothing. Sign-out and a password change set revoked_at; a request checks the row.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),          # hex SHA-256 of the cookie's token
    Column("owner_id", Integer, ForeignKey("owners.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),             # UTC, naive
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),             # created_at + 12 h, whatever the use
    Column("revoked_at", DateTime),                             # signed out, or the password changed
)

# Which orders a conversation has proved are the customer's (order number + email or phone). Every order
# action re-checks here: slots come from whoever calls the action server, this table only from a check.
order_verifications = Table(
    "order_verifications", metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("verified_at", DateTime, nullable=False),  # UTC, naive
)

# Failed order checks (issue 13): number + wrong email or phone, or no such order. The per-conversation
# lock above stops one chat; these rows let every process count guesses at one order, from one client
# address and overall, whichever conversation they come from. Small rows, deleted after a day.
failed_order_checks = Table(
    "failed_order_checks", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False, index=True),              # UTC, naive
    Column("conversation_id", String(255), nullable=False),
    Column("order_number", String(32), nullable=False, index=True),  # as checked, not an orders row
    Column("client_key", String(16), nullable=False, default="", index=True),  # keyed hash of the address
)

# Failed console sign-ins (issue 17): one row per failure and per count it is in (the email with the client's
# address, the email, the address; bot/console/login_limit.py), so every web process counts the same
# failures and a restart forgets none. The key is a keyed hash, never the email or address; rows older than
# the longest window (an hour) are deleted as new failures come in (actions/services/login_failures.py).
login_failures = Table(
    "login_failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("key_hash", String(64), nullable=False),   # hex HMAC-SHA256 of what is counted
    Column("at", DateTime, nullable=False, index=True),  # UTC, naive
    Index("login_failures_by_key", "key_hash", "at"),
)

# Writes the bot made for a customer's message: the same message again (the widget sends it again when the
# web process died before the answer reached it) finds its write done and gets the same confirmation,
# instead of a second return or case, or "already cancelled" for what this very message cancelled.
message_writes = Table(
    "message_writes", metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("reference", String(32), nullable=False, default=""),  # the case number, if one was opened
    Column("at", DateTime, nullable=False),  # UTC, naive
)

# The shop's products imported from its platform's export (`python -m bot catalog import`); when there are
# any, the bot answers product questions from these instead of shop.yml's catalog. Replaced wholesale by
# each import, in one transaction (actions/services/catalog/store.py).
products = Table(
    "products", metadata,
    Column("id", Integer, primary_key=True),
    Column("position", Integer, nullable=False),                 # the export's order
    Column("title", String(255), nullable=False),
    Column("price", Numeric(10, 2)),                              # None: unknown, or only the variants'
    Column("stock", Integer),                                     # None: not counted
    Column("url", String(500), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("keywords", Text, nullable=False, default="[]"),      # JSON list of lower-case words
    Column("source", String(16), nullable=False),                 # shopify, woocommerce
    Column("imported_at", DateTime, nullable=False),              # UTC, naive
)

product_variants = Table(
    "product_variants", metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("price", Numeric(10, 2)),
    Column("stock", Integer),
    Column("sku", String(100), nullable=False, default=""),
)

# The trainer's decisions on missed customer messages (bot/trainer/inbox.py): labelled with an intent (and
# written into data/nlu), out of scope (written as out_of_scope examples) or noise. One row per message
# (Rasa's events.id); a decided message leaves the inbox.
inbox_decisions = Table(
    "inbox_decisions", metadata,
    Column("event_id", Integer, primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("decision", String(16), nullable=False),               # labelled, out_of_scope, noise
    Column("intent", String(64), nullable=False, default=""),
    Column("decided_by", String(254), nullable=False),
    Column("decided_at", DateTime, nullable=False),               # UTC, naive
)

# The trainer's review of whole conversations (bot/trainer/conversation_log.py): reviewed or not, by whom,
# and tags; one row per conversation once a trainer touched it.
conversation_reviews = Table(
    "conversation_reviews", metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("reviewed_by", String(254)),                           # null: not reviewed
    Column("reviewed_at", DateTime),                              # UTC, naive
    Column("tags", Text, nullable=False, default=""),             # comma-separated
    Column("updated_at", DateTime, nullable=False),
)

# A turn a trainer flagged in a conversation (a wrong intent, a poor answer), with a note: one row per
# customer message (Rasa's events.id).
flagged_turns = Table(
    "flagged_turns", metadata,
    Column("event_id", Integer, primary_key=True),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("note", Text, nullable=False, default=""),
    Column("flagged_by", String(254), nullable=False),
    Column("flagged_at", DateTime, nullable=False),               # UTC, naive
)

# Trained models the trainer can activate (bot/trained_models/registry.py): where the archive is, Rasa's
# model id, what it was trained from and its figures; which one answers is the latest row of
# model_activations, read by every web process (bot/trained_models/switch.py). Training runs in jobs, one
# at a time.
models = Table(
    "models", metadata,
    Column("id", Integer, primary_key=True),
    Column("file", String(1000), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),     # of the archive: the same model once
    Column("model_id", String(64), nullable=False, default=""),    # Rasa's, on every event it answered
    Column("trained_at", DateTime, nullable=False),                # UTC, naive
    Column("commit", String(64), nullable=False, default=""),      # git HEAD when trained; "+": data changed
    Column("data_hash", String(64), nullable=False, default=""),   # of config, domain and training data
    Column("figures", Text, nullable=False, default="{}"),         # JSON: bot/trained_models/figures.py
    Column("trained_by", String(254), nullable=False, default=""),
)

model_activations = Table(
    "model_activations", metadata,
    Column("id", Integer, primary_key=True),
    Column("model", Integer, ForeignKey("models.id"), nullable=False),
    Column("kind", String(16), nullable=False),                    # activate, rollback, deploy
    Column("activated_by", String(254), nullable=False),
    Column("activated_at", DateTime, nullable=False),
)

training_jobs = Table(
    "training_jobs", metadata,
    Column("id", Integer, primary_key=True),
    Column("started_by", String(254), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("stage", String(16), nullable=False),   # starting, training, evaluating, done, failed
    Column("problem", Text, nullable=False, default=""),
    Column("log_file", String(1000), nullable=False, default=""),
    Column("pid", Integer),
    Column("model", Integer, ForeignKey("models.id")),             # the model it made
    # 1 while the job runs, NULL once it has ended: unique, so that two trainers pressing Train in the
    # same instant (two web processes, or two requests) cannot both start a job.
    Column("running_slot", Integer),
    Index("one_training_job_at_a_time", "running_slot", unique=True),
)

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime, nullable=False),
    UniqueConstraint("name"),
)

# Customers (issue 18): whoever proved an email or phone in a chat (a verified order, a ticket's or a
# complaint's email), across conversations and channels. Before that a chat is an anonymous visitor's. The
# links are written in the same transaction as the proof (actions/services/customers/identity.py).
customers = Table(
    "customers", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, default=""),     # from their orders, or set by the owner
    Column("notes", Text, nullable=False, default=""),           # the owner's
    Column("tags", Text, nullable=False, default=""),            # comma-separated
    Column("created_at", DateTime, nullable=False),              # UTC, naive: the first proof
)

customer_contacts = Table(  # an email or phone belongs to one customer
    "customer_contacts", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(8), nullable=False),                   # email (lower case) | phone (digits)
    Column("value", String(254), nullable=False),
    Column("added_at", DateTime, nullable=False),
    UniqueConstraint("kind", "value"),
)

customer_conversations = Table(  # which conversations a customer proved themselves in, and how
    "customer_conversations", metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True,
           index=True),
    Column("how", String(16), nullable=False),                   # order, ticket, complaint
    Column("linked_at", DateTime, nullable=False),
)

# The owner's emails to a customer from the customer page (a follow-up to a detractor or an unhappy rating).
customer_followups = Table(
    "customer_followups", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("owner_id", Integer, ForeignKey("owners.id", ondelete="SET NULL")),
    Column("feedback_id", Integer, ForeignKey("feedback.id", ondelete="SET NULL")),  # what it answers
    Column("to_email", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("mailed_at", DateTime),                               # the SMTP server took it
)


# Conversations on a messaging channel (issue 19): who they are on WhatsApp, Messenger, Instagram or
# Telegram (the address replies go to), their name there, and when they last wrote (the 24-hour window of
# WhatsApp and Messenger counts from it). A conversation id is random, never the phone number, so the logs
# that name conversations hold no contact. ``offered``: buttons last sent as a numbered list (JSON), so a
# typed "2" is the second.
channel_conversations = Table(
    "channel_conversations", metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("channel", String(16), nullable=False),              # whatsapp | messenger | instagram | telegram
    Column("address", String(128), nullable=False),             # WhatsApp id, page-scoped id, chat id
    Column("name", String(200), nullable=False, default=""),    # the name the platform gives
    Column("created_at", DateTime, nullable=False),             # UTC, naive
    Column("last_inbound_at", DateTime, nullable=False),        # the customer's last message
    Column("offered", Text),
    UniqueConstraint("channel", "address", name="one_conversation_per_channel_address"),
)

# Every message a provider's webhook brought, stored before the webhook is answered: the provider's id makes
# a retried delivery a duplicate, and what is not handled yet (the web process died after answering) is
# taken up again by any process.
channel_inbox = Table(
    "channel_inbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("provider_message_id", String(200), nullable=False),
    Column("conversation_id", String(255), nullable=False, index=True),
    Column("payload", Text, nullable=False),                    # JSON: text, photo, tap; "{}" when handled
    Column("received_at", DateTime, nullable=False),            # UTC, naive
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_until", DateTime),                          # a process is handling it until then
    Column("handled_at", DateTime),
    UniqueConstraint("channel", "provider_message_id", name="one_inbox_row_per_provider_message"),
)
