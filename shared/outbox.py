"""The outbox relay: publishes committed outbox rows to the bus, then deletes them.

Rows are taken in id order under ``FOR UPDATE SKIP LOCKED``. On PostgreSQL a
transaction-scoped advisory lock lets one replica relay at a time (the others
stand by and take over within a poll): relaying in parallel would let two
replicas publish one customer's events out of order. A row is deleted only
after the bus acknowledged it, so a crash in between publishes it again, and
the consumers' inboxes drop the copy.

A row the bus refuses for good (too large for any topic, a topic that does not
exist or may not be written: ``RecordRejected``) would hold every row behind it
forever, every tenant's. So it is *parked*: put on ``crm.deadletter`` with the
reason (``crm-origin: outbox``; see ``shared.letters``), deleted, counted in
``crm_outbox_parked_total`` and logged without its content; the rows behind it
carry on. Any other failure (the broker away) keeps the rows for the next try.

Finding the refused row never re-sends half a batch blindly. The bus says what
became of each message, and for each key what it acknowledged is a prefix of
that key's messages, so the acknowledged rows are done. The failed ones are then
sent one at a time, in order, until one is refused on its own: it is parked and
the rows after it go as a batch again. A row is therefore never published
before an earlier row of its key has been delivered or parked (good rows may be
published twice on the way: the consumers' inboxes drop the copies).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import UUID

import structlog
from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared import bulk, metrics, tracing
from shared.bus import Bus, Headers, Message, RecordRejected
from shared.clock import Clock
from shared.events.envelope import CONTENT_TYPE, TYPE_HEADER, type_of_encoded
from shared.letters import dead_letter

log = structlog.get_logger()

_RELAY_LOCK = 0x0C2B_0001  # any constant: each service has its own database
# CloudEvents Kafka protocol binding, structured mode: the header says so.
_STRUCTURED = (("content-type", CONTENT_TYPE.encode()),)
# A dead letter small enough for any topic, should the dead-letter topic refuse a larger one.
_SMALL_LETTER_BYTES = 128 * 1024


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
        name = f'"{outbox.name}"'
        self._take = (
            f"SELECT id, event_id, topic, key, value FROM {name} "
            "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
        )
        self._delete = f"DELETE FROM {name} WHERE id = ANY($1::bigint[])"

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
        """Publish one batch of unsent rows, parking those the bus refuses for good;
        returns how many rows left the outbox. Raises, once the rows delivered so far
        are deleted, if the bus failed otherwise (the rest stays for the next try)."""
        async with self._engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                apg = await bulk.driver(conn)  # three statements a batch: straight to asyncpg
                if not await apg.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK):
                    return 0
                rows = [_Row(*row) for row in await apg.fetch(self._take, self._batch_size)]
            else:
                rows = await self._rows(conn)
            if not rows:
                return 0
            with tracing.publishing(self._service) as spans:
                if spans is not None:  # a producer span per event, in the event's trace
                    rows = [
                        replace(r, headers=spans.start(r.topic, r.event_id, r.value)) for r in rows
                    ]
                delivery = await self._deliver(rows)
            if delivery.done and conn.dialect.name == "postgresql":
                await apg.execute(self._delete, delivery.done)
            elif delivery.done:
                table = self._outbox
                await conn.execute(delete(table).where(table.c.id.in_(delivery.done)))
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(delivery.published)
        for kind in delivery.parked:
            metrics.OUTBOX_PARKED.labels(self._service, kind).inc()
        if delivery.stalled is not None:
            raise delivery.stalled
        return len(delivery.done)

    async def _rows(self, conn: AsyncConnection) -> list[_Row]:
        """The oldest unsent rows, locked (SQLite: one writer at a time anyway)."""
        table = self._outbox
        query = (
            select(table.c.id, table.c.event_id, table.c.topic, table.c.key, table.c.value)
            .order_by(table.c.id)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)
        )
        return [_Row(*row) for row in await conn.execute(query)]

    async def _deliver(self, rows: Sequence[_Row]) -> _Delivery:
        delivery = _Delivery()
        pending = list(rows)
        while pending and delivery.stalled is None:
            outcomes = await self._bus.publish_each([_message(r) for r in pending])
            delivery.sent([r for r, o in zip(pending, outcomes, strict=True) if o is None])
            failed = [(r, o) for r, o in zip(pending, outcomes, strict=True) if o is not None]
            if not failed:
                break
            if not any(isinstance(o, RecordRejected) for _, o in failed):
                delivery.stalled = failed[0][1]
                break
            log.warning("the bus refused a record; sending one at a time", service=self._service)
            pending = await self._isolate([r for r, _ in failed], delivery)
        return delivery

    async def _isolate(self, rows: list[_Row], delivery: _Delivery) -> list[_Row]:
        """Send ``rows`` one at a time, in order, until the bus refuses one on its own: park
        it and return the rows after it. (A row refused within a batch may be innocent:
        Kafka refuses a whole record batch for one record too large.)"""
        for i, row in enumerate(rows):
            [outcome] = await self._bus.publish_each([_message(row)])
            if outcome is None:
                delivery.sent([row])
            elif isinstance(outcome, RecordRejected):
                await self._park(row, outcome, delivery)
                return rows[i + 1 :]
            else:
                delivery.stalled = outcome
                return []
        return []

    async def _park(self, row: _Row, refused: RecordRejected, delivery: _Delivery) -> None:
        """Put ``row`` on the dead-letter topic. Should that topic take less than the bus
        allows (a smaller ``max.message.bytes``), the letter is cut further to fit."""
        position = (
            ("crm-outbox-id", str(row.id).encode()),
            ("crm-event-id", str(row.event_id).encode()),
        )
        for limit in (self._bus.max_message_bytes, _SMALL_LETTER_BYTES):
            letter = dead_letter(
                _message(row),
                reason=refused.reason,
                service=self._service,
                origin="outbox",
                position=position,
                failed_at=datetime.now(UTC),
                limit=limit,
            )
            [outcome] = await self._bus.publish_each([letter])
            if not isinstance(outcome, RecordRejected):
                break
        if outcome is not None:
            delivery.stalled = outcome
            return
        delivery.done.append(row.id)
        delivery.parked.append(refused.kind)
        log.warning(
            "outbox row parked on the dead-letter topic",
            service=self._service,
            outbox_id=row.id,
            event_id=str(row.event_id),
            topic=row.topic,
            size=len(row.value),
            reason=refused.reason,
        )


async def measure_backlog(engine: AsyncEngine, outbox: Table, clock: Clock, service: str) -> None:
    """Set ``crm_outbox_backlog`` and ``crm_outbox_oldest_age_seconds``: a relay that
    stalls (the bus away, a lost lock) shows as a growing age long before anyone
    misses an event. Ages are on the service's clock, the one ``created_at`` is on."""
    query = select(func.count(), func.min(outbox.c.created_at))
    async with engine.connect() as conn:
        backlog, oldest = (await conn.execute(query)).one()
    age = (clock.now() - oldest).total_seconds() if oldest is not None else 0.0
    metrics.OUTBOX_BACKLOG.labels(service).set(backlog)
    metrics.OUTBOX_OLDEST_AGE.labels(service).set(max(0.0, age))


@dataclass(frozen=True)
class _Row:
    id: int
    event_id: UUID
    topic: str
    key: str
    value: bytes
    headers: Headers = ()  # the publish's trace context, when tracing is on


def _message(row: _Row) -> Message:
    event_type = type_of_encoded(row.value)
    typed = ((TYPE_HEADER, event_type),) if event_type else ()
    return Message(row.topic, row.key.encode(), row.value, (*_STRUCTURED, *typed, *row.headers))


@dataclass
class _Delivery:
    """What became of one batch of rows."""

    done: list[int] = field(default_factory=list)  # published or parked: to delete
    published: int = 0
    parked: list[str] = field(default_factory=list)  # why, one per parked row
    stalled: BaseException | None = None  # why the rows not done wait for the next try

    def sent(self, rows: Sequence[_Row]) -> None:
        self.done.extend(r.id for r in rows)
        self.published += len(rows)
