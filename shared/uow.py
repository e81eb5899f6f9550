"""The unit of work: the one place a transaction commits.

Handlers and routes change state through ``uow.conn`` and announce what
happened with ``uow.publish``; ``commit`` writes those events to the outbox in
the same transaction, so state and events are saved together or not at all.
Leaving the block without ``commit`` rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock
from shared.db import insert_ignoring_conflicts
from shared.events import CloudEvent, encode


class UnitOfWork:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._events: list[CloudEvent] = []
        self._after_commit: list[Callable[[], None]] = []
        self._committed = False
        self.conn: AsyncConnection

    async def __aenter__(self) -> Self:
        self.conn = await self._db.engine.connect()
        await self.conn.begin()
        return self

    def publish(self, *events: CloudEvent) -> None:
        """Send these events if, and only if, this unit of work commits."""
        self._events.extend(events)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this unit of work has committed (never if it rolls back):
        to wake a job that acts on the rows it wrote, once they are there to be read."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await insert_ignoring_conflicts(
            self.conn, self._db.outbox, [self._outbox_row(e) for e in self._events]
        )
        await self.conn.commit()
        self._committed = True
        if self._events:
            self._db.on_commit_with_events()
        for callback in self._after_commit:
            callback()

    def _outbox_row(self, event: CloudEvent) -> dict[str, object]:
        return {
            "event_id": event.id,
            "topic": event.topic,
            "key": event.partitionkey,
            "value": encode(event),
            "created_at": self._db.clock.now(),
        }

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            await self.conn.rollback()
        await self.conn.close()


class Database:
    """A service's database: its engine, its outbox, and a way to open units of work."""

    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        clock: Clock,
        on_commit_with_events: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.clock = clock
        self.on_commit_with_events = on_commit_with_events

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)
