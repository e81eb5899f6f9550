"""Early events, kept until what they refer to arrives: the same way in every service.

Partners are not ordered with each other: a returns system may post a refund before
the till's purchase reaches us, a ticketing system a resolution before its complaint.
Such an event is not dropped: its consumer *parks* it in the service's
``parked_event`` table, keyed by the customer and what it waits for
(``order:O-77``, ``complaint:C-9``), in the transaction that would have applied it
(so the inbox has it: a redelivery changes nothing). The consumer that applies the
awaited event takes the parked ones in the same transaction and applies them right
after it (``take``), so the state is as if they had come in order.

What waits longer than ``CRM_PARKED_EVENT_MAX_WAIT_HOURS`` will most likely never be
matched (a refund of an order we never saw): ``expire`` puts it on ``crm.deadletter``
with the reason (``crm-origin: parked``), deletes it and counts it in
``crm_parked_events_total{outcome="dead_lettered"}``; an operator may replay it.
Like the outbox relay, the letter is published before the row is deleted: a crash
in between publishes it twice, never loses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import Column, Index, LargeBinary, MetaData, String, Table, Uuid, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.bus import Bus, Message, Record
from shared.clock import Clock
from shared.db import UTCDateTime, insert_ignoring_conflicts, keys_in
from shared.events import decode
from shared.events.envelope import CONTENT_TYPE
from shared.jobs import Periodic
from shared.letters import dead_letter
from shared.runtime import Runtime
from shared.subscription import Received
from shared.sweeps import Swept, drain, periodic
from shared.uow import Database

log = structlog.get_logger()
PARKED = Counter(
    "crm_parked_events_total",
    "Events that arrived before what they refer to: parked, applied when it came, or "
    "dead-lettered after waiting too long",
    ["service", "waits_for", "outcome"],
)
WaitKey = tuple[str, uuid.UUID, str]  # tenant, customer, what it waits for
_STRUCTURED = (("content-type", CONTENT_TYPE.encode()),)
EXPIRY_BATCH = 200


def parked_table(metadata: MetaData) -> Table:
    """Add ``parked_event`` to a service's metadata and return it."""
    table = Table(
        "parked_event",
        metadata,
        Column("tenant_id", String(64), primary_key=True),
        Column("customer_id", Uuid, primary_key=True),
        Column("waits_for", String(250), primary_key=True, comment="order:<id>, complaint:<ref>"),
        Column("event_id", Uuid, primary_key=True),
        Column("topic", String(100), nullable=False),
        Column("key", String(200), nullable=False),
        Column("value", LargeBinary, nullable=False, comment="the event as consumed"),
        Column("parked_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False, comment="dead-lettered after this"),
        comment="Events that came before what they refer to; applied when it arrives.",
    )
    Index("ix_parked_event_expires_at", table.c.expires_at)
    return table


@dataclass(frozen=True)
class Parking:
    """One service's parked events: its table, its name (for metrics and letters) and
    how long an event may wait."""

    table: Table
    service: str
    max_wait: timedelta
    clock: Clock

    async def park(self, conn: AsyncConnection, early: Sequence[tuple[Received[Any], str]]) -> None:
        """Keep these events, each with what it waits for."""
        now = self.clock.now()
        rows = [self._row(received, waits_for, now) for received, waits_for in early]
        await insert_ignoring_conflicts(conn, self.table, rows)
        for _, waits_for in early:
            PARKED.labels(self.service, _kind(waits_for), "parked").inc()

    async def take(self, conn: AsyncConnection, awaited: Iterable[WaitKey]) -> list[Received[Any]]:
        """The events parked for what has arrived now, removed from the table, oldest
        (by event time) first. Set-based: one read and one delete for the batch."""
        wanted = sorted(set(awaited))
        if not wanted:
            return []
        t = self.table
        where = keys_in(conn, [t.c.tenant_id, t.c.customer_id, t.c.waits_for], wanted)
        rows = (await conn.execute(select(t).where(where))).mappings().all()
        if not rows:
            return []
        await conn.execute(delete(t).where(where))
        taken = [_received(r) for r in rows]
        for row in rows:
            PARKED.labels(self.service, _kind(row["waits_for"]), "applied").inc()
        return sorted(taken, key=lambda r: (r.event.time, str(r.event.id)))

    async def expire(self, db: Database, bus: Bus, limit: int) -> Swept:
        """Dead-letter one batch of the events that waited past their time."""
        now = db.clock.now()
        t = self.table
        async with db.unit_of_work() as uow:
            due = select(t).where(t.c.expires_at <= now).order_by(t.c.expires_at).limit(limit)
            rows = (await uow.conn.execute(due.with_for_update(skip_locked=True))).mappings().all()
            if not rows:
                return Swept()
            await bus.publish([self._letter(r, now, bus.max_message_bytes) for r in rows])
            keys = [(r["tenant_id"], r["customer_id"], r["waits_for"], r["event_id"]) for r in rows]
            cols = [t.c.tenant_id, t.c.customer_id, t.c.waits_for, t.c.event_id]
            await uow.conn.execute(delete(t).where(keys_in(uow.conn, cols, keys)))
            await uow.commit()
        for row in rows:
            PARKED.labels(self.service, _kind(row["waits_for"]), "dead_lettered").inc()
            log.warning(
                "parked event dead-lettered",
                service=self.service,
                event_id=str(row["event_id"]),
                waits_for_kind=_kind(row["waits_for"]),
            )
        return Swept({"dead_lettered": len(rows)}, more=len(rows) == limit)

    def _row(self, received: Received[Any], waits_for: str, now: datetime) -> dict[str, object]:
        tenant_id, customer_id = received.customer
        record = received.record
        return {
            "tenant_id": tenant_id,
            "customer_id": customer_id,
            "waits_for": waits_for[:250],
            "event_id": received.event.id,
            "topic": record.topic,
            "key": (record.key or b"").decode(errors="replace")[:200],
            "value": record.value or b"",
            "parked_at": now,
            "expires_at": now + self.max_wait,
        }

    def _letter(self, row: object, now: datetime, limit: int) -> Message:
        r = dict(row)  # type: ignore[call-overload]
        hours = self.max_wait.total_seconds() / 3600
        reason = (
            f"ParkedTooLong: waited {hours:g} hours for {_kind(r['waits_for'])} "
            f"{r['waits_for'].partition(':')[2]!r}, which never arrived (parked at "
            f"{r['parked_at'].isoformat()})"
        )
        original = Message(r["topic"], r["key"].encode(), r["value"], _STRUCTURED)
        position = (("crm-event-id", str(r["event_id"]).encode()),)
        return dead_letter(
            original,
            reason=reason,
            service=self.service,
            origin="parked",
            position=position,
            failed_at=now,
            limit=limit,
        )


def _received(row: object) -> Received[Any]:
    r = dict(row)  # type: ignore[call-overload]
    record = Record(r["topic"], -1, -1, r["key"].encode(), r["value"])
    event = decode(r["value"])
    return Received(event, event.payload(), record)


def _kind(waits_for: str) -> str:
    """What kind of thing is awaited (``order``, ``complaint``): a bounded metric label."""
    return waits_for.partition(":")[0] or "unknown"


def parking_of(table: Table, service: str, runtime: Runtime[Any, Any]) -> Parking:
    """A service's parking, waiting as long as its settings say."""
    hours = runtime.settings.parked_event_max_wait_hours
    return Parking(table, service, timedelta(hours=hours), runtime.clock)


def expiry_job(parking: Parking, runtime: Runtime[Any, Any]) -> Periodic:
    """The background pass that dead-letters what waited too long."""
    db, bus = runtime.db, runtime.bus
    return periodic(
        f"{parking.service}-parked-expiry",
        runtime.settings.parked_event_sweep_seconds,
        lambda: drain(lambda: parking.expire(db, bus, EXPIRY_BATCH)),
    )
