"""Segment membership, kept current: the view consumer follows each batch (after the
360 is folded, in the same transaction), the sweep follows the passing of time.

Both lock the customers' fact rows, read everything an evaluation needs for the whole
batch in a handful of statements (the tenants' segments, the 360, attributes and
consent, the activities inside the longest window, the current members), evaluate
every segment for every customer in memory, and write the differences back: members
in and out (``segment_entered`` / ``segment_exited``), and each customer's next window
edge as its one due-time row. So membership is a read model of the topics like the
360: ``rebuild`` folds it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile import domain, segment_store
from services.profile.segment_eval import holds, longest_window, next_edge
from services.profile.segment_rules import Facts, Seen
from services.profile.segment_store import CustomerKey, FactRow, Saved
from shared import topics
from shared.clock import Clock
from shared.events import REGISTRY, CloudEvent, new_event
from shared.events.envelope import derived_id
from shared.events.payload import Payload
from shared.events.profile import (
    ConsentChanged,
    CustomerRecordUpdated,
    CustomersMerged,
    SegmentEntered,
    SegmentExited,
    SegmentExitReason,
)
from shared.subscription import Received
from shared.sweeps import Swept, drain
from shared.uow import Database, UnitOfWork

SOURCE = "/crm/profile"
ACTIVITIES = REGISTRY.payloads_on(topics.ACTIVITY)
FACTS = (CustomerRecordUpdated, ConsentChanged)  # what a customer's fact row keeps
FOLLOWED: tuple[type[Payload], ...] = (*ACTIVITIES, *FACTS)


@dataclass(frozen=True)
class Moved:
    """What an evaluation changed: customers evaluated, entries, exits."""

    evaluated: int = 0
    entered: int = 0
    exited: int = 0


async def follow(uow: UnitOfWork, batch: Sequence[Received[Payload]], now: datetime) -> Moved:
    """Keep the batch's activities, attributes and consent for segments, and evaluate
    its customers' segments (a merged customer leaves its own)."""
    causes: dict[CustomerKey, uuid.UUID] = {}
    for received in batch:
        causes[received.customer] = received.event.id
        if isinstance(received.payload, CustomersMerged):
            merged = (received.event.tenantid, uuid.UUID(received.payload.merged_id))
            causes[merged] = received.event.id
    segments = await segment_store.segments_of(uow.conn, {t for t, _ in causes})
    # A tenant without segments has nothing to evaluate: only the facts that change are
    # read (locked), and every customer noted, for the segments it may define later.
    folded = {r.customer for r in batch if isinstance(r.payload, FACTS)}
    await segment_store.note_customers(uow.conn, causes)
    wanted = sorted(k for k in causes if segments.get(k[0]) or k in folded)
    facts = await segment_store.fact_rows(uow.conn, wanted, lock=True)
    await segment_store.record_activities(
        uow.conn, [_activity(r) for r in batch if isinstance(r.payload, ACTIVITIES)]
    )
    changed = {
        r.customer for r in batch if r.customer in folded and _fold(facts[r.customer], r.payload)
    }
    await segment_store.save_facts(uow.conn, {k: facts[k] for k in changed})
    return await evaluate(uow, facts, now, causes, segments)


def _activity(received: Received[Payload]) -> dict[str, Any]:
    tenant, customer = received.customer
    return {
        "tenant_id": tenant,
        "customer_id": customer,
        "event_id": received.event.id,
        "kind": received.event.type.split(".")[2],
        "at": received.event.time,
        "properties": dict(getattr(received.payload, "properties", {})),
    }


def _fold(row: FactRow, payload: Payload) -> bool:
    """Keep the latest attributes (by record version) and consent (by decision time)."""
    match payload:
        case CustomerRecordUpdated(version=version, attributes=values):
            if version <= row.attributes_version:
                return False
            row.attributes, row.attributes_version = dict(values), version
        case ConsentChanged(channel=channel, purpose=purpose, granted=granted, at=at):
            key, when = f"{channel}/{purpose}", at.isoformat()
            if key in row.consent and datetime.fromisoformat(row.consent[key][1]) > at:
                return False
            row.consent[key] = [granted, when]
        case _:
            return False
    return True


async def evaluate(
    uow: UnitOfWork,
    facts: Mapping[CustomerKey, FactRow],
    now: datetime,
    causes: Mapping[CustomerKey, uuid.UUID],
    segments: Mapping[str, list[Saved]] | None = None,
) -> Moved:
    """Evaluate every segment of their tenants (``segments``, if read already) for these
    (locked) customers at ``now``; enter and exit them, announce it (ids derived from
    each customer's ``cause``), and keep each one's next window edge."""
    conn = uow.conn
    if segments is None:
        segments = await segment_store.segments_of(conn, {t for t, _ in facts})
    days = max((longest_window(s.rule for s in segments[t]) for t in segments), default=0)
    known = await read_facts(
        conn, {k: r for k, r in facts.items() if segments.get(k[0])}, days, now
    )
    members = await segment_store.memberships(conn, list(known))
    entered: list[dict[str, Any]] = []
    exited: set[tuple[uuid.UUID, uuid.UUID]] = set()
    due: dict[CustomerKey, datetime] = {}
    for key, (customer, gone) in known.items():
        current = members.get(key, set())
        for saved in segments[key[0]]:
            held = not gone and holds(saved.rule, customer, now)
            if held and saved.segment_id not in current:
                entered.append(_member(saved, key, now))
                uow.publish(entered_event(saved, key, now, causes[key]))
            elif not held and saved.segment_id in current:
                exited.add((saved.segment_id, key[1]))
                reason: SegmentExitReason = "merged" if gone else "rule"
                uow.publish(exited_event(saved, key, now, causes[key], reason))
            edge = None if gone else next_edge(saved.rule, customer, now)
            if edge is not None:
                due[key] = min(due.get(key, edge), edge)
    await segment_store.enter(conn, entered)
    await segment_store.leave(conn, exited)
    await segment_store.set_due(conn, due, list(facts))
    return Moved(len(known), len(entered), len(exited))


async def read_facts(
    conn: AsyncConnection, rows: Mapping[CustomerKey, FactRow], days: int, now: datetime
) -> dict[CustomerKey, tuple[Facts, bool]]:
    """What the rules read of these customers, with activities of the last ``days``
    days, and whether each was merged into another (then it is in no segment)."""
    keys = list(rows)
    views = await segment_store.views(conn, keys)
    seen = await segment_store.activities(conn, keys, now - timedelta(days=days)) if days else {}
    return {
        k: (
            _facts(k, views.get(k), rows[k], seen.get(k, []), now),
            k in views and views[k]["merged_into"] is not None,
        )
        for k in keys
    }


async def facts_of(
    conn: AsyncConnection, keys: Collection[CustomerKey], days: int, now: datetime
) -> dict[CustomerKey, tuple[Facts, bool]]:
    """``read_facts`` of the customers the fold has met, unlocked (previews, explanations)."""
    return await read_facts(conn, await segment_store.fact_rows(conn, keys), days, now)


def _facts(
    key: CustomerKey, view: Mapping[str, Any] | None, row: FactRow, seen: list[Seen], now: datetime
) -> Facts:
    """What the rules read of one customer (a 360 nobody spoke of yet, if none)."""
    granted = [k.split("/", 1) for k, (yes, _) in row.consent.items() if yes]
    return Facts(
        fields=view if view is not None else domain.new_view(*key, now),
        attributes=row.attributes,
        consent=frozenset((channel, purpose) for channel, purpose in granted),
        activities=seen,
    )


def _member(saved: Saved, key: CustomerKey, now: datetime) -> dict[str, Any]:
    return {
        "segment_id": saved.segment_id,
        "customer_id": key[1],
        "tenant_id": key[0],
        "entered_at": now,
    }


def entered_event(saved: Saved, key: CustomerKey, now: datetime, cause: uuid.UUID) -> CloudEvent:
    payload = SegmentEntered(segment_id=str(saved.segment_id), name=saved.name, at=now)
    return _announce(payload, key, now, derived_id(cause, f"segment_entered:{saved.segment_id}"))


def exited_event(
    saved: Saved, key: CustomerKey, now: datetime, cause: uuid.UUID, reason: SegmentExitReason
) -> CloudEvent:
    payload = SegmentExited(
        segment_id=str(saved.segment_id), name=saved.name, at=now, reason=reason
    )
    return _announce(payload, key, now, derived_id(cause, f"segment_exited:{saved.segment_id}"))


def _announce(payload: Payload, key: CustomerKey, now: datetime, event_id: uuid.UUID) -> CloudEvent:
    tenant, customer = key
    return new_event(
        payload,
        source=SOURCE,
        tenant_id=tenant,
        key=str(customer),
        subject=str(customer),
        time=now,
        event_id=event_id,
    )


async def sweep_batch(db: Database, clock: Clock, limit: int, tenant: str | None) -> Swept:
    """Evaluate the customers due now (a window edge passed, or a segment was saved),
    at most ``limit``; a customer a consumer holds is left for the next pass."""
    now = clock.now()
    async with db.unit_of_work() as uow:
        due = await segment_store.due(uow.conn, now, limit, tenant)
        facts = await segment_store.lock_facts(uow.conn, (k for k, _ in due), skip_locked=True)
        if not facts:
            return Swept({"evaluated": 0})
        causes = {k: uuid.uuid5(k[1], f"segment_due:{at.isoformat()}") for k, at in due}
        moved = await evaluate(uow, facts, now, causes)
        await uow.commit()
    counts = {"evaluated": len(facts), "entered": moved.entered, "exited": moved.exited}
    return Swept(counts, more=len(due) == limit)


async def sweep(db: Database, clock: Clock, limit: int = 500, tenant: str | None = None) -> Swept:
    """Every segment evaluation due now, batch after batch."""
    return await drain(lambda: sweep_batch(db, clock, limit, tenant))
