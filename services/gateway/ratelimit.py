"""Per-key rate limits: a token bucket for each API key, in the gateway's memory.

A partner's retry storm or a runaway dashboard must not starve everyone else.
Each key may burst up to ``burst`` requests and then ``per_second`` on average;
past that it gets ``429`` with ``Retry-After``. The buckets live in one gateway
process, so with N replicas a key's ceiling is N times the setting: simple,
and enough to stop a flood, which is the point.
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
        self, per_second: float, burst: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._now = per_second, burst, now
        self._buckets: dict[object, _Bucket] = {}

    def acquire(self, key: object) -> float:
        """Take one token for ``key``: 0 if allowed, else the seconds until one is free."""
        now = self._now()
        bucket = self._buckets.setdefault(key, _Bucket(float(self._burst), now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._rate


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
