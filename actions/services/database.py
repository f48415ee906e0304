"""The project's database: one engine per URL, the same database as Rasa's tracker store.

SQLite by default (``sqlite:///var/bot.db``), PostgreSQL when DATABASE_URL says so. The action
server and the web server both write to it, so SQLite runs in WAL mode (readers never wait for a
writer) with a short busy timeout: a write that cannot get the lock in BUSY_TIMEOUT_SECONDS fails with
OperationalError ("database is locked"), which the channels answer with 503 "please try again" and the
action server with an apology, instead of keeping the customer waiting on a backup or a long import.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Dict

from sqlalchemy import Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SAWarning
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool

DEFAULT_DATABASE_URL = "sqlite:///var/bot.db"
BUSY_TIMEOUT_SECONDS = 3  # far above a normal write (milliseconds), short enough for a waiting customer
# The database could not do the work now (locked past the busy timeout, down, no free connection): worth
# trying again in a moment, unlike a bug.
DATABASE_UNAVAILABLE = (OperationalError, PoolTimeout)


def insert_new(connection: Connection, table: Table, values: Dict[str, Any]) -> Any:
    """An insert that does nothing where a row with the same unique key is there already."""
    if connection.dialect.name == "postgresql":
        return postgresql_insert(table).values(**values).on_conflict_do_nothing()
    return sqlite_insert(table).values(**values).on_conflict_do_nothing()


def write_out_deletions(engine: Engine) -> None:
    """After deleting personal data: on SQLite, copy the write-ahead log into the database file and empty
    it, so the old pages it held (the rows as they were) are gone from disk too. PostgreSQL keeps dead rows
    until (auto)vacuum reclaims them; the README says so."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def create_database_engine(url: str = DEFAULT_DATABASE_URL) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        # Money columns are Numeric(10, 2); SQLite keeps them as floats and SQLAlchemy rounds them back
        # to 2 places on reading, which is exact for amounts of this size. Its warning would only
        # confuse a shop owner reading the log.
        warnings.filterwarnings("ignore", r"Dialect sqlite\+\w+ does \*not\* support Decimal", SAWarning)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A pool of open connections: SQLAlchemy 1.4 opens a new SQLite connection for every session of a
        # file database (and our pragmas run again), a fifth of the tracker store's time per turn.
        # ":memory:" keeps the default, where every connection would be another empty database.
        pool = {} if not parsed.database or parsed.database == ":memory:" else {
            "poolclass": QueuePool, "pool_size": 5, "max_overflow": 10, "pool_timeout": BUSY_TIMEOUT_SECONDS}
        engine = create_engine(url, future=True,
                               connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                               **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # Deleted rows are overwritten with zeros, not left readable in free pages: a customer's deletion
            # (actions/services/customers/erasure.py) must not leave them in the file. (Debian's SQLite does
            # this by default; other builds may not.)
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)
