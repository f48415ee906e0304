"""Sign-in attempts: five failures per email or address in 15 minutes, then a wait."""

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
        assert limiter.wait_seconds("mara@example.com", "10.0.0.1") == 0
        limiter.failed("mara@example.com", "10.0.0.1")
        clock.now += 10
    assert limiter.wait_seconds("mara@example.com", "10.0.0.1") == 15 * 60 - 50 + 1
    assert limiter.wait_seconds("sam@example.com", "10.0.0.1") > 0  # same address, other email
    assert limiter.wait_seconds("sam@example.com", "10.0.0.2") == 0
    clock.now += 15 * 60
    assert limiter.wait_seconds("mara@example.com", "10.0.0.1") == 0


def test_success_clears_the_count():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(4):
        limiter.failed("mara@example.com")
    limiter.succeeded("mara@example.com")
    limiter.failed("mara@example.com")
    assert limiter.wait_seconds("mara@example.com") == 0
