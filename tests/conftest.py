"""Fresh fixtures for every test: the real domain and shop profile, a new dispatcher, trackers
built from events, and a fixed clock in the shop's time zone."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any, Dict, List

import psycopg2
import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from actions.services.shop_profile import ShopProfile, load_shop_profile
from tests.smtp_inbox import smtp, smtp_server  # noqa: F401 - fixtures for every test package

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LONDON = "Europe/London"


@pytest.fixture
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture
def shop() -> ShopProfile:
    return load_shop_profile(ROOT / "shop.yml")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def shop_time(shop: ShopProfile, text: str) -> dt.datetime:
    """'2026-11-23 10:30' as a moment in the shop's time zone."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=shop.timezone)


def prove(orders: Any, conversation_id: str, *numbers: str) -> None:
    """What the order flow does when the customer gives the right email or phone: this conversation has
    proved these orders are theirs, so order actions may show and change them (the slots alone may not)."""
    for number in numbers:
        order = orders.get(number)
        assert order is not None and orders.verify(number, order.email, conversation_id) is not None


def fixed_clock(moment: dt.datetime):
    return lambda: moment


def tracker_for(intent: str, text: str = "", ranking: List[Dict[str, Any]] | None = None,
                entities: List[Dict[str, Any]] | None = None) -> Tracker:
    """A tracker whose latest event is the customer's message classified as ``intent``."""
    message = {
        "text": text or f"/{intent}",
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
        "entities": entities or [],
    }
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": message["text"], "parse_data": message},
    ]
    return Tracker("test-customer", {}, message, events, False, None, None, "action_listen")


@pytest.fixture
def postgres_url():
    """A fresh database on the local PostgreSQL server (CI starts it), dropped afterwards."""
    name = f"shopbot_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


class SettableClock:
    """A clock the test moves by hand (``clock.now += HOUR``)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def redis_url() -> str:
    """The local Redis server (CI starts it); tests keep apart by their keys' prefixes and channels."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    client.ping()  # no Redis is a failure, not a skip: the scaled set-up must be tested
    client.close()
    return REDIS_URL


def migrated_engine(request, tmp_path):
    """For an ``engine`` fixture parametrised over "sqlite" and "postgresql": a fresh, migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/test.db"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_database_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
