"""Segments in SQL: definitions, members, and what an evaluation reads (the 360, the
folded attributes and consent, the activities in the rules' windows) and writes (members
in and out, the next due time), each for a whole batch of customers in one statement.
Nothing here commits: the unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profile import segment_rules
from services.profile.segment_rules import Clause, Seen
from services.profile.tables import (
    customer_view,
    segment,
    segment_activity,
    segment_due,
    segment_fact,
    segment_member,
)
from shared.db import insert_for, insert_ignoring_conflicts, is_postgres, keys_in, upsert

CustomerKey = tuple[str, uuid.UUID]


@dataclass(frozen=True)
class Saved:
    """A segment as evaluations use it: its rule parsed."""

    segment_id: uuid.UUID
    tenant_id: str
    name: str
    rule: Clause


@dataclass
class FactRow:
    """A customer's attributes and consent as the fold keeps them."""

    attributes: dict[str, Any]
    attributes_version: int
    consent: dict[str, list[Any]]  # 'channel/purpose' → [granted, at as RFC 3339]


async def segments_of(conn: AsyncConnection, tenants: Collection[str]) -> dict[str, list[Saved]]:
    """The segments of these tenants, by tenant, rules parsed as saved."""
    if not tenants:
        return {}
    s = segment.c
    rows = await conn.execute(
        select(s.segment_id, s.tenant_id, s.name, s.rule).where(s.tenant_id.in_(sorted(tenants)))
    )
    found: dict[str, list[Saved]] = {}
    for r in rows:
        rule = segment_rules.parse(r.rule, None)
        found.setdefault(r.tenant_id, []).append(Saved(r.segment_id, r.tenant_id, r.name, rule))
    return found


async def lock_facts(
    conn: AsyncConnection, keys: Iterable[CustomerKey], *, skip_locked: bool = False
) -> dict[CustomerKey, FactRow]:
    """The customers' fact rows, locked in key order (made first where missing; with
    ``skip_locked``, those another transaction holds are left out)."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    if not skip_locked:
        await note_customers(conn, keys)
    return await fact_rows(conn, keys, lock=True, skip_locked=skip_locked)


async def note_customers(conn: AsyncConnection, keys: Collection[CustomerKey]) -> None:
    """A blank fact row for each customer that has none: the rows are how a segment
    saved later finds the tenant's customers (``schedule_tenant``, ``preview``)."""
    blank = {"attributes": {}, "attributes_version": 0, "consent": {}}
    rows = [{"tenant_id": t, "customer_id": c, **blank} for t, c in sorted(set(keys))]
    await insert_ignoring_conflicts(conn, segment_fact, rows)


async def fact_rows(
    conn: AsyncConnection,
    keys: Collection[CustomerKey],
    *,
    lock: bool = False,
    skip_locked: bool = False,
) -> dict[CustomerKey, FactRow]:
    """The customers' fact rows (those the fold met), in key order."""
    if not keys:
        return {}
    f = segment_fact.c
    query = (
        select(segment_fact)
        .where(keys_in(conn, [f.tenant_id, f.customer_id], keys))
        .order_by(f.tenant_id, f.customer_id)
    )
    if lock:
        query = query.with_for_update(skip_locked=skip_locked)
    return {
        (r.tenant_id, r.customer_id): FactRow(
            dict(r.attributes), r.attributes_version, dict(r.consent)
        )
        for r in await conn.execute(query)
    }


async def save_facts(conn: AsyncConnection, rows: Mapping[CustomerKey, FactRow]) -> None:
    await upsert(
        conn,
        segment_fact,
        [{"tenant_id": t, "customer_id": c, **vars(row)} for (t, c), row in sorted(rows.items())],
        ["tenant_id", "customer_id"],
    )


async def record_activities(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    await insert_ignoring_conflicts(conn, segment_activity, rows)


FIELDS = [customer_view.c[name] for name in segment_rules.FIELDS]


async def views(conn: AsyncConnection, keys: Collection[CustomerKey]) -> dict[CustomerKey, Any]:
    """The 360 facts of these customers (with ``merged_into``)."""
    if not keys:
        return {}
    v = customer_view.c
    rows = await conn.execute(
        select(v.tenant_id, v.customer_id, v.merged_into, *FIELDS).where(
            keys_in(conn, [v.tenant_id, v.customer_id], keys)
        )
    )
    return {(r.tenant_id, r.customer_id): r._mapping for r in rows}


async def activities(
    conn: AsyncConnection, keys: Collection[CustomerKey], since: datetime
) -> dict[CustomerKey, list[Seen]]:
    """The customers' activities after ``since``."""
    if not keys:
        return {}
    a = segment_activity.c
    rows = await conn.execute(
        select(a.tenant_id, a.customer_id, a.kind, a.at, a.properties).where(
            keys_in(conn, [a.tenant_id, a.customer_id], keys), a.at > since
        )
    )
    found: dict[CustomerKey, list[Seen]] = {}
    for r in rows:
        found.setdefault((r.tenant_id, r.customer_id), []).append(Seen(r.kind, r.at, r.properties))
    return found


async def memberships(
    conn: AsyncConnection, keys: Collection[CustomerKey]
) -> dict[CustomerKey, set[uuid.UUID]]:
    """The segments each of these customers is in."""
    if not keys:
        return {}
    m = segment_member.c
    rows = await conn.execute(
        select(m.tenant_id, m.customer_id, m.segment_id).where(
            keys_in(conn, [m.tenant_id, m.customer_id], keys)
        )
    )
    found: dict[CustomerKey, set[uuid.UUID]] = {}
    for r in rows:
        found.setdefault((r.tenant_id, r.customer_id), set()).add(r.segment_id)
    return found


async def enter(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    await insert_ignoring_conflicts(conn, segment_member, rows)


async def leave(conn: AsyncConnection, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Take (segment, customer) pairs out."""
    if pairs:
        m = segment_member.c
        await conn.execute(
            delete(segment_member).where(keys_in(conn, [m.segment_id, m.customer_id], pairs))
        )


async def set_due(
    conn: AsyncConnection, due: Mapping[CustomerKey, datetime], evaluated: Collection[CustomerKey]
) -> None:
    """Each evaluated customer's next due time: ``due`` where a window will move, none
    for the others."""
    rows = [{"tenant_id": t, "customer_id": c, "due_at": at} for (t, c), at in sorted(due.items())]
    await upsert(conn, segment_due, rows, ["tenant_id", "customer_id"])
    idle = [k for k in evaluated if k not in due]
    if idle:
        d = segment_due.c
        await conn.execute(
            delete(segment_due).where(keys_in(conn, [d.tenant_id, d.customer_id], idle))
        )


async def due(
    conn: AsyncConnection, now: datetime, limit: int, tenant: str | None
) -> list[tuple[CustomerKey, datetime]]:
    """Customers whose evaluation is due, oldest first, locked (others' skipped)."""
    d = segment_due.c
    query = select(d.tenant_id, d.customer_id, d.due_at).where(d.due_at <= now)
    if tenant is not None:
        query = query.where(d.tenant_id == tenant)
    query = query.order_by(d.due_at).limit(limit).with_for_update(skip_locked=True)
    return [((r.tenant_id, r.customer_id), r.due_at) for r in await conn.execute(query)]


async def schedule_tenant(conn: AsyncConnection, tenant: str, now: datetime) -> None:
    """Make every customer of the tenant due now (a segment was saved): the sweep
    evaluates them a batch at a time."""
    f, d = segment_fact.c, segment_due.c
    rows = select(f.tenant_id, f.customer_id, literal(now, d.due_at.type)).where(
        f.tenant_id == tenant
    )
    statement = insert_for(conn, segment_due).from_select(
        ["tenant_id", "customer_id", "due_at"], rows
    )
    excluded = statement.excluded.due_at
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id"],
            set_={
                "due_at": func.least(d.due_at, excluded)
                if is_postgres(conn)
                else func.min(d.due_at, excluded)
            },
        )
    )
