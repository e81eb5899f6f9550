"""Per-key token buckets: a burst is allowed, then the average rate; keys are independent;
memory stays bounded; a limit that could only refuse everything stops the gateway at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.gateway.ratelimit import RateLimiter, retry_after
from services.gateway.settings import GatewaySettings


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


def test_waiting_takes_no_token() -> None:
    limiter = RateLimiter(per_second=1, burst=1, now=Ticking())
    assert limiter.wait("ip") == 0.0
    assert limiter.wait("ip") == 0.0
    assert limiter.acquire("ip") == 0.0
    assert limiter.wait("ip") == 1.0


def test_a_spray_of_keys_takes_bounded_memory() -> None:
    clock = Ticking()
    limiter = RateLimiter(per_second=1, burst=1, now=clock, max_keys=100)
    for address in range(1000):
        clock.now += 0.001
        limiter.acquire(address)
    assert len(limiter._buckets) <= 100
    assert limiter.acquire(999) > 0  # the recent ones are still remembered


@pytest.mark.parametrize(
    "setting",
    [
        {"rate_limit_per_second": 0},
        {"rate_limit_per_second": -5},
        {"rate_limit_per_second": float("nan")},
        {"rate_limit_burst": 0},
        {"auth_failures_per_second": 0},
        {"auth_failure_burst": -1},
    ],
)
def test_a_limit_of_zero_or_less_stops_the_gateway_at_start(setting: dict[str, float]) -> None:
    name = "CRM_" + next(iter(setting)).upper()
    with pytest.raises(ValidationError, match=f"{name} must be a positive number"):
        GatewaySettings(**setting)  # type: ignore[arg-type]
