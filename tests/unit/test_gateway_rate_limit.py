"""Per-key token buckets: a burst is allowed, then the average rate; keys are independent."""

from __future__ import annotations

from services.gateway.ratelimit import RateLimiter, retry_after


class Ticking:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_may_burst_then_waits_for_its_rate() -> None:
    clock = Ticking()
    limiter = RateLimiter(per_second=2, burst=3, now=clock)

    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("k") == 0.5  # one token every half second
    clock.now = 0.5
    assert limiter.acquire("k") == 0.0


def test_keys_do_not_share_a_bucket() -> None:
    limiter = RateLimiter(per_second=1, burst=1, now=Ticking())
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_an_idle_key_refills_only_up_to_its_burst() -> None:
    clock = Ticking()
    limiter = RateLimiter(per_second=10, burst=2, now=clock)
    clock.now = 3600
    assert [limiter.acquire("k") == 0.0 for _ in range(3)] == [True, True, False]


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after(0.01) == "1"
    assert retry_after(2.2) == "3"
