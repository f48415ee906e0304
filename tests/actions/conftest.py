"""Fixtures shared by the action tests: a fresh, migrated SQLite database."""
from __future__ import annotations

import pytest

from actions.services.database import create_database_engine
from actions.services.migrations import migrate


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/actions.db")
    migrate(engine)
    yield engine
    engine.dispose()
