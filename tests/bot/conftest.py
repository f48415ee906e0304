from __future__ import annotations

import pytest

from tests.bot.servers import MODEL, start_servers


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """One action server and one web server with the trained model, shared by the e2e tests."""
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: `make test` trains it first")
    running = start_servers(tmp_path_factory.mktemp("servers"))
    yield running
    running.stop()
