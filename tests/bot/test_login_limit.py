"""Sign-in attempts: 5 failures per email and address in 15 minutes, 50 per email from everywhere in an
hour, 20 per address over all emails; then a wait that says how long. Counted in the database, so every web
process sees the same counts (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from actions.services.database import create_database_engine
from bot.console.login_limit import LoginLimiter
from tests.conftest import migrated_engine

SECRET = b"the console's secret"
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)


class Clock:
    """A wall clock whose ``now`` is seconds after START; tests move it on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> dt.datetime:
        return START + dt.timedelta(seconds=self.now)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def second_process_engine(engine):
    """Another engine on the same database: what a second web process has."""
    other = create_database_engine(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_five_failures_then_a_wait_that_ends(engine):
    clock = Clock()
    limiter = LoginLimiter(engine, SECRET, clock=clock)
    for _ in range(5):
        assert limiter.wait("mara@example.com", "10.0.0.1") is None
        limiter.failed("mara@example.com", "10.0.0.1")
        clock.now += 10
    wait = limiter.wait("mara@example.com", "10.0.0.1")
    assert wait is not None and wait.seconds == 15 * 60 - 50 + 1
    assert wait.message == ("Too many failed sign-ins for this email from your address. "
                            "Try again in 15 minutes.")
    clock.now += 15 * 60
    assert limiter.wait("mara@example.com", "10.0.0.1") is None


def test_a_stranger_failing_from_one_address_does_not_lock_the_owner_out_elsewhere(engine):
    limiter = LoginLimiter(engine, SECRET, clock=Clock())
    for _ in range(5):
        limiter.failed("mara@example.com", "203.0.113.5")
    assert limiter.wait("mara@example.com", "203.0.113.5") is not None
    assert limiter.wait("mara@example.com", "198.51.100.7") is None  # the owner, at home
    assert limiter.wait("sam@example.com", "203.0.113.5") is None  # the stranger's address, another email


def test_fifty_failures_for_one_email_from_many_addresses_stop_everyone_for_that_email(engine):
    clock = Clock()
    limiter = LoginLimiter(engine, SECRET, clock=clock)
    for n in range(50):
        assert limiter.wait("mara@example.com", f"10.0.{n}.1") is None
        limiter.failed("mara@example.com", f"10.0.{n}.1")
        clock.now += 30
    wait = limiter.wait("mara@example.com", "198.51.100.7")  # an address that never failed
    assert wait is not None and wait.message.startswith("Too many failed sign-ins for this email from many")
    assert wait.seconds == 60 * 60 - 50 * 30 + 1  # until the oldest of the fifty is an hour old
    assert limiter.wait("sam@example.com", "198.51.100.7") is None
    clock.now += wait.seconds
    assert limiter.wait("mara@example.com", "198.51.100.7") is None


def test_one_address_trying_many_emails_waits(engine):
    limiter = LoginLimiter(engine, SECRET, clock=Clock())
    for n in range(20):
        limiter.failed(f"user{n}@example.com", "203.0.113.5")
    wait = limiter.wait("someone-new@example.com", "203.0.113.5")
    assert wait is not None and "from your address" in wait.message
    assert limiter.wait("someone-new@example.com", "198.51.100.7") is None


def test_success_clears_the_count_of_that_email_and_address(engine):
    limiter = LoginLimiter(engine, SECRET, clock=Clock())
    for _ in range(4):
        limiter.failed("mara@example.com", "10.0.0.1")
    limiter.succeeded("mara@example.com", "10.0.0.1")
    limiter.failed("mara@example.com", "10.0.0.1")
    assert limiter.wait("mara@example.com", "10.0.0.1") is None


def test_a_wait_under_a_minute_reads_as_one_minute(engine):
    clock = Clock()
    limiter = LoginLimiter(engine, SECRET, clock=clock)
    for _ in range(5):
        limiter.failed("mara@example.com", "10.0.0.1")
    clock.now += 15 * 60 - 30
    assert limiter.wait("mara@example.com", "10.0.0.1").message.endswith("Try again in 1 minute.")


def test_two_web_processes_count_the_same_failures_and_a_restart_forgets_none(engine, second_process_engine):
    clock = Clock()
    first, second = (LoginLimiter(engine, SECRET, clock=clock),
                     LoginLimiter(second_process_engine, SECRET, clock=clock))
    for limiter in (first, second, first, second):  # a guesser spread over two processes
        limiter.failed("mara@example.com", "203.0.113.5")
    assert first.wait("mara@example.com", "203.0.113.5") is None
    second.failed("mara@example.com", "203.0.113.5")
    assert first.wait("mara@example.com", "203.0.113.5") is not None
    assert second.wait("mara@example.com", "203.0.113.5") is not None
    restarted = LoginLimiter(engine, SECRET, clock=clock)
    assert restarted.wait("mara@example.com", "203.0.113.5") is not None
    first.succeeded("mara@example.com", "203.0.113.5")  # the owner got in through one process
    assert second.wait("mara@example.com", "203.0.113.5") is None


def test_failures_recorded_at_the_same_moment_by_two_processes_all_count(engine, second_process_engine):
    clock = Clock()
    limiters = [LoginLimiter(process_engine, SECRET, clock=clock)
                for process_engine in (engine, second_process_engine)]
    start = threading.Barrier(20)
    problems = []

    def fail(n: int) -> None:
        start.wait()
        try:
            limiters[n % 2].failed(f"user{n}@example.com", "203.0.113.5")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            problems.append(error)

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    # The address limit is 20: one failure lost to a race and this would say None.
    wait = limiters[0].wait("someone-new@example.com", "203.0.113.5")
    assert wait is not None and "from your address" in wait.message
