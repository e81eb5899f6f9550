"""An injectable clock, so time-based rules can be tested and history replayed.

Every service asks its clock for "now" instead of calling ``datetime.now``;
``CRM_FROZEN_NOW`` pins the clock of a whole installation at one instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock that stands still until a test moves it."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant

    def move_to(self, instant: datetime) -> None:
        self.instant = instant


def clock_for(frozen_now: datetime | None) -> Clock:
    """The clock the settings ask for: frozen when an instant is given."""
    return FrozenClock(frozen_now.astimezone(UTC)) if frozen_now else SystemClock()
