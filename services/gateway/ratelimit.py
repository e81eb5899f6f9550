"""Per-key rate limits: a token bucket for each API key, in the gateway's memory.

A partner's retry storm or a runaway dashboard must not starve everyone else.
Each key may burst up to ``burst`` requests and then ``per_second`` on average;
past that it gets ``429`` with ``Retry-After``. The buckets live in one gateway
process, so with N replicas a key's ceiling is N times the setting: simple,
and enough to stop a flood, which is the point.

Failed authentications have buckets of their own, per client address: a
guesser is slowed to a trickle (and costs the database nothing once its bucket
is empty) without touching the keys that authenticate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        burst: int,
        now: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self._rate, self._burst, self._now = per_second, burst, now
        self._max_keys = max_keys
        self._buckets: dict[object, _Bucket] = {}

    def acquire(self, key: object) -> float:
        """Take one token for ``key``: 0 if allowed, else the seconds until one is free."""
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._rate

    def wait(self, key: object) -> float:
        """The seconds until ``key`` has a token (0: now), taking none (nor any memory
        for a key never seen)."""
        if key not in self._buckets:
            return 0.0
        bucket = self._refilled(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self._rate

    def _refilled(self, key: object) -> _Bucket:
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self._burst), now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        """Bound the memory a spray of addresses can take: a bucket that has refilled is
        the same as none; if all are busy, the least recently used half goes."""
        refill = self._burst / self._rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
        if len(self._buckets) >= self._max_keys:
            recent = sorted(self._buckets.items(), key=lambda item: item[1].updated)
            self._buckets = dict(recent[len(recent) // 2 :])


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
