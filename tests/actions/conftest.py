"""Fixtures shared by the action tests: a fresh, migrated SQLite database."""
from __future__ import annotations

import pytest

from actions.services.database import create_database_engine
from actions.services.migrations import migrate


@pytest.fixture
def sqlite_engine(tmp_path):
    """tmp_path/actions.db, migrated (a command line run in a test can use the same file)."""
    engine = create_database_engine(f"sqlite:///{tmp_path}/actions.db")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine
