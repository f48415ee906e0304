"""Sign-in attempts: 5 failures per email and address in 15 minutes, 50 per email from everywhere in an
hour, 20 per address over all emails; then a wait that says how long."""

from __future__ import annotations

from bot.console.login_limit import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_then_a_wait_that_ends():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
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


def test_a_stranger_failing_from_one_address_does_not_lock_the_owner_out_elsewhere():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(5):
        limiter.failed("mara@example.com", "203.0.113.5")
    assert limiter.wait("mara@example.com", "203.0.113.5") is not None
    assert limiter.wait("mara@example.com", "198.51.100.7") is None  # the owner, at home
    assert limiter.wait("sam@example.com", "203.0.113.5") is None  # the stranger's address, another email


def test_fifty_failures_for_one_email_from_many_addresses_stop_everyone_for_that_email():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
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


def test_one_address_trying_many_emails_waits():
    limiter = LoginLimiter(clock=Clock())
    for n in range(20):
        limiter.failed(f"user{n}@example.com", "203.0.113.5")
    wait = limiter.wait("someone-new@example.com", "203.0.113.5")
    assert wait is not None and "from your address" in wait.message
    assert limiter.wait("someone-new@example.com", "198.51.100.7") is None


def test_success_clears_the_count_of_that_email_and_address():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(4):
        limiter.failed("mara@example.com", "10.0.0.1")
    limiter.succeeded("mara@example.com", "10.0.0.1")
    limiter.failed("mara@example.com", "10.0.0.1")
    assert limiter.wait("mara@example.com", "10.0.0.1") is None


def test_a_wait_under_a_minute_reads_as_one_minute():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for _ in range(5):
        limiter.failed("mara@example.com", "10.0.0.1")
    clock.now += 15 * 60 - 30
    assert limiter.wait("mara@example.com", "10.0.0.1").message.endswith("Try again in 1 minute.")
