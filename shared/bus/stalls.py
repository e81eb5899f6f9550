"""A consumer that stopped consuming while its group has work: found and restarted.

After a broker crash, an aiokafka consumer can stay alive without ever consuming again
(aio-libs/aiokafka#1154: no error, no log, nothing to catch). The fault suite saw it:
profile's ``profile-view`` sat 1,690 events behind for ten minutes after Kafka came back,
and a restart of the consumer alone caught it up in seconds.

So a member that fetched nothing for a while asks how its group stands: the committed
offsets and the ends of every partition of its topics. Behind, with the committed
offsets not moving (no member of the group is working on it), for ``stall_seconds``:
the member raises ``Stalled``, and the service's supervisor starts it again, with a new
Kafka consumer that joins the group afresh. A member with nothing to do, or one whose
partitions another member is working through, never restarts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

LOOK_SECONDS = 30.0  # how often an idle member looks at its group
STALL_SECONDS = 120.0  # behind, with no progress, for this long: stalled


@dataclass(frozen=True)
class Standing:
    """A group's committed offsets and its topics' ends, summed over the partitions
    (``None``: the group's coordinator did not say in time)."""

    committed: int | None
    end: int

    @property
    def behind(self) -> bool:
        return self.committed is None or self.end > self.committed


class Stalled(Exception):
    """The member consumed nothing while its group stood still behind: restart it."""


class StallWatch:
    """Decides, from an idle member's looks at its group, when it has stalled."""

    def __init__(
        self,
        stall_seconds: float = STALL_SECONDS,
        look_seconds: float = LOOK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stall, self._look, self._clock = stall_seconds, look_seconds, clock
        self._looked = clock()
        self._stuck_since: float | None = None
        self._last: Standing | None = None

    def consumed(self) -> None:
        """The member fetched records: it is working."""
        self._looked, self._stuck_since, self._last = self._clock(), None, None

    def due(self) -> bool:
        """Whether an idle member should look at its group now."""
        return self._clock() - self._looked >= self._look

    def look(self, standing: Standing) -> None:
        """Note how the group stands; raise ``Stalled`` once it stood still behind for
        ``stall_seconds``."""
        now = self._clock()
        self._looked = now
        moved = self._last is None or standing.committed != self._last.committed
        self._last = standing
        if not standing.behind:
            self._stuck_since = None
            return
        if moved and standing.committed is not None:
            self._stuck_since = now
            return
        if self._stuck_since is None:
            self._stuck_since = now
        if now - self._stuck_since >= self._stall:
            raise Stalled(
                f"nothing consumed for {now - self._stuck_since:.0f} s while the group stood "
                f"behind (committed {standing.committed}, end {standing.end})"
            )
