"""DATABASE_URL switches Rasa's tracker store to PostgreSQL (the local server, a fresh database)."""
from __future__ import annotations

import psycopg2
import pytest
import requests

from tests.bot.servers import start_servers

pytestmark = pytest.mark.e2e


def test_conversation_is_stored_in_postgres(tmp_path, postgres_url):
    database = postgres_url
    servers = start_servers(tmp_path, {"DATABASE_URL": database})
    try:
        reply = requests.post(f"{servers.base_url}/webhooks/rest/webhook",
                              json={"sender": "pg-customer", "message": "what are your opening hours?"},
                              timeout=30)
        assert reply.status_code == 200 and "Our hours" in reply.json()[0]["text"]
    finally:
        servers.stop()
    with psycopg2.connect(database) as db, db.cursor() as cursor:
        cursor.execute("SELECT type_name, intent_name FROM events WHERE sender_id = 'pg-customer' "
                       "AND type_name = 'user'")
        assert cursor.fetchall() == [("user", "opening_hours")]
    assert not servers.database.exists()  # nothing went to the SQLite default
