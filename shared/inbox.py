"""The inbox: which events a consumer has already applied.

Claiming is one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` in the handler's
own transaction: the ids it returns are new, the rest were applied before. The
primary key decides, not a check-then-insert, so two replicas cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock
from shared.db import insert_new


async def claim(
    conn: AsyncConnection,
    inbox: Table,
    consumer: str,
    event_ids: Sequence[uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    """Record ``event_ids`` as applied by ``consumer``; return those not seen before."""
    if not event_ids:
        return set()
    rows = [{"consumer": consumer, "event_id": e, "processed_at": now} for e in event_ids]
    return await insert_new(conn, inbox, rows, returning="event_id")


class InboxPruner:
    """Forgets applied event ids once no redelivery can bring them back.

    Topics keep their events forever, but a copy of an event only ever arrives
    soon after the first: a batch redelivered because its offsets were not yet
    committed (a crash, a rebalance), or an outbox row published twice (a crash
    between publish and delete). Both happen within seconds or minutes, so an id
    older than the retention (14 days) cannot come back on its own; what can
    bring one back later is an operator's act (rewinding a group, replaying old
    dead letters), which the rebuild tools handle by clearing the state they
    refold. Keeping older ids only grows the table. Deletes in small batches so it
    never holds long locks.
    """

    def __init__(self, engine: AsyncEngine, inbox: Table, clock: Clock, retention: timedelta):
        self._engine, self._inbox, self._clock, self._retention = engine, inbox, clock, retention

    async def prune(self, batch: int = 5000) -> int:
        """Delete ids applied before the retention horizon; returns how many."""
        horizon = self._clock.now() - self._retention
        table, deleted = self._inbox, 0
        while True:
            async with self._engine.begin() as conn:
                oldest = (
                    select(table.c.consumer, table.c.event_id)
                    .where(table.c.processed_at < horizon)
                    .limit(batch)
                )
                result = await conn.execute(
                    delete(table).where(tuple_(table.c.consumer, table.c.event_id).in_(oldest))
                )
            deleted += result.rowcount
            if result.rowcount < batch:
                return deleted
