"""The outbox relay: publishes committed outbox rows to the bus, then deletes them.

Rows are taken in id order under ``FOR UPDATE SKIP LOCKED``. On PostgreSQL a
transaction-scoped advisory lock lets one replica relay at a time (the others
stand by and take over within a poll): relaying in parallel would let two
replicas publish one customer's events out of order. A row is deleted only
after the bus acknowledged it, so a crash in between publishes it again, and
the consumers' inboxes drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import metrics
from shared.bus import Bus, Message
from shared.events.envelope import CONTENT_TYPE

log = structlog.get_logger()

_RELAY_LOCK = 0x0C2B_0001  # any constant: each service has its own database
# CloudEvents Kafka protocol binding, structured mode: the header says so.
_STRUCTURED = (("content-type", CONTENT_TYPE.encode()),)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        bus: Bus,
        *,
        service: str,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
    ) -> None:
        self._engine, self._outbox, self._bus = engine, outbox, bus
        self._service, self._batch_size, self._poll = service, batch_size, poll_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.name = "relay"

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def kick(self) -> None:
        """Relay now: a transaction with events has just committed in this process."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                sent = await self.relay_once()
            except Exception:
                log.exception("outbox relay failed; retrying", service=self._service)
                sent = 0
                await asyncio.sleep(1)
            if sent < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        table = self._outbox
        async with self._engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                locked = await conn.scalar(select(func.pg_try_advisory_xact_lock(_RELAY_LOCK)))
                if not locked:
                    return 0
            rows = (
                await conn.execute(
                    select(table.c.id, table.c.topic, table.c.key, table.c.value)
                    .order_by(table.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self._bus.publish(
                [Message(r.topic, r.key.encode(), r.value, _STRUCTURED) for r in rows]
            )
            await conn.execute(delete(table).where(table.c.id.in_([r.id for r in rows])))
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)
