"""What every service does with profile's merges, whatever it keeps: rows move to the
survivor remembering whose they were (``origin_id``), move back on the undo, and an
event about a merged-away customer is applied to its survivor while the merge stands.

Each service keeps a ``customer_merge`` table (tenant_id, merge_id, survivor_id,
merged_id, merged_at, undone_at): a merge recorded there was applied (a replay changes
nothing), and it says where a merged-away id lives on."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import UTCDateTime
from shared.subscription import CustomerKey, Received


def merges_table(metadata: MetaData, *kept: Column[Any], comment: str) -> Table:
    """Add ``customer_merge`` to a service's metadata and return it: the merges it
    applied, with the columns ``kept`` of what the service needs for an undo (between
    the ids and the times, where each service's migration put them)."""
    table = Table(
        "customer_merge",
        metadata,
        Column("tenant_id", String(64), primary_key=True),
        Column("merge_id", Uuid, primary_key=True),
        Column("survivor_id", Uuid, nullable=False),
        Column("merged_id", Uuid, nullable=False),
        *kept,
        Column("merged_at", UTCDateTime, nullable=False),
        Column("undone_at", UTCDateTime),
        comment=comment,
    )
    Index("ix_customer_merge_merged", table.c.tenant_id, table.c.merged_id)
    return table


async def move_to_survivor(
    conn: AsyncConnection,
    tables: Iterable[Table],
    tenant: str,
    merged: uuid.UUID,
    survivor: uuid.UUID,
) -> None:
    """The merged customer's rows become the survivor's; each keeps whose it was (the
    first owner, when a merge moved it before)."""
    for table in tables:
        c = table.c
        await conn.execute(
            update(table)
            .where(c.tenant_id == tenant, c.customer_id == merged)
            .values(
                customer_id=survivor,
                origin_id=func.coalesce(c.origin_id, literal(merged, c.origin_id.type)),
            )
        )


async def move_back(
    conn: AsyncConnection,
    tables: Iterable[Table],
    tenant: str,
    survivor: uuid.UUID,
    merged: uuid.UUID,
    restored: Iterable[str],
) -> None:
    """The survivor's rows that were the merged customer's (or of a customer merged
    into it before: ``restored``) become the merged customer's again."""
    origins = [merged, *(uuid.UUID(r) for r in restored)]
    for table in tables:
        c = table.c
        await conn.execute(
            update(table)
            .where(c.tenant_id == tenant, c.customer_id == survivor, c.origin_id.in_(origins))
            .values(
                customer_id=merged,
                origin_id=case((c.origin_id == merged, None), else_=c.origin_id),
            )
        )


async def recorded(conn: AsyncConnection, merges: Table, tenant: str, merge_id: uuid.UUID) -> Any:
    """The merge as this service applied it (locked), or None."""
    m = merges.c
    query = select(merges).where(m.tenant_id == tenant, m.merge_id == merge_id)
    return (await conn.execute(query.with_for_update())).mappings().first()


async def survivors(
    conn: AsyncConnection, merges: Table, keys: set[CustomerKey]
) -> dict[CustomerKey, CustomerKey]:
    """Where merged-away customers live on now (merges not undone)."""
    if not keys:
        return {}
    m = merges.c
    rows = await conn.execute(
        select(m.tenant_id, m.merged_id, m.survivor_id).where(
            m.undone_at.is_(None), m.merged_id.in_({c for _, c in keys})
        )
    )
    found = {(r.tenant_id, r.merged_id): (r.tenant_id, r.survivor_id) for r in rows}
    return {k: s for k, s in found.items() if k in keys}


async def on_survivors(
    conn: AsyncConnection, merges: Table, batch: Sequence[Received[Any]]
) -> Sequence[Received[Any]]:
    """The batch with each merged-away customer replaced by its survivor, so no event
    brings back a customer a merge absorbed."""
    found = await survivors(conn, merges, {r.customer for r in batch if r.event.subject})
    if not found:
        return batch
    return [
        replace(r, event=r.event.model_copy(update={"subject": str(found[r.customer][1])}))
        if r.event.subject and r.customer in found
        else r
        for r in batch
    ]
