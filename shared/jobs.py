"""Background work that repeats: one loop for every sweeper, refitter and pruner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Periodic:
    """A job (see ``shared.app.Job``) that runs ``work`` at once, then every
    ``seconds``, until stopped. A stop waits for the pass in hand to finish and
    cuts the wait short, so a service stops promptly without half a pass."""

    def __init__(self, name: str, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name, self._seconds, self._work = name, seconds, work
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            await self._work()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._seconds)
