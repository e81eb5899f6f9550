"""What every service does with profile's merges, whatever it keeps: rows move to the
survivor remembering whose they were (``origin_id``), move back on the undo, and an
event about a merged-away customer is applied to its survivor while the merge stands,
what it adds remembered as the merged customer's (``claim``), so the undo gives that
back too. A key both customers have (the same order id) is renamed, not lost.

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
    ColumnElement,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    case,
    exists,
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


# A renamed key ends with this and the merged customer's id: ``~`` is in no id a
# partner may send (``shared.events.bounds.REF_PATTERN``), so it is never someone's.
MARK = "~"


def _mark(merged: uuid.UUID) -> str:
    return f"{MARK}{merged.hex[:8]}"


def per_customer_keys(table: Table) -> list[list[Column[Any]]]:
    """The table's keys that are unique per customer (a primary key or unique constraint
    with ``customer_id`` and more), each without tenant and customer, the column a merge
    renames last (an order id, a ledger entry's cause)."""
    keys = []
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint):
            names = [c.name for c in constraint.columns]
            if "customer_id" in names and len(names) > 2:
                keys.append([c for c in constraint.columns if c.name not in _OWNER])
    return keys


_OWNER = ("tenant_id", "customer_id")


def _same_key(table: Table, key: list[Column[Any]], tenant: str, owner: uuid.UUID) -> Any:
    """A row of ``owner`` has this row's key."""
    other = table.alias()
    return exists().where(
        other.c.tenant_id == tenant,
        other.c.customer_id == owner,
        *(other.c[column.name] == column for column in key),
    )


async def move_to_survivor(
    conn: AsyncConnection,
    tables: Iterable[Table],
    tenant: str,
    merged: uuid.UUID,
    survivor: uuid.UUID,
) -> None:
    """The merged customer's rows become the survivor's; each keeps whose it was (the
    first owner, when a merge moved it before). A row whose key the survivor has too
    (the same order id from two partners) is renamed first (``O-1~<merged>``), so both
    are kept and the undo gives it back its name; one whose renamed key would not fit
    its column stays with the merged customer, kept as it was."""
    for table in tables:
        c = table.c
        mine = [c.tenant_id == tenant, c.customer_id == merged]
        for key in per_customer_keys(table):
            renamed, mark = key[-1], _mark(merged)
            fits = func.length(renamed) + len(mark) <= renamed.type.length  # type: ignore[attr-defined]
            await conn.execute(
                update(table)
                .where(*mine, _same_key(table, key, tenant, survivor), fits)
                .values({renamed.name: renamed + literal(mark)})
            )
            mine.append(~_same_key(table, key, tenant, survivor))
        await conn.execute(
            update(table)
            .where(*mine)
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
    into it before: ``restored``), and those that came for it meanwhile, become the
    merged customer's again, a key renamed at the merge with its own name back."""
    origins = [merged, *(uuid.UUID(r) for r in restored)]
    mark = _mark(merged)
    for table in tables:
        c = table.c
        names = {key[-1].name: key[-1] for key in per_customer_keys(table)}
        unmarked = {
            name: case(
                (column.endswith(mark), func.substr(column, 1, func.length(column) - len(mark))),
                else_=column,
            )
            for name, column in names.items()
        }
        await conn.execute(
            update(table)
            .where(c.tenant_id == tenant, c.customer_id == survivor, c.origin_id.in_(origins))
            .values(
                customer_id=merged,
                origin_id=case((c.origin_id == merged, None), else_=c.origin_id),
                **unmarked,
            )
        )


async def claim(
    conn: AsyncConnection, table: Table, received: Received[Any], *which: ColumnElement[bool]
) -> None:
    """The rows ``which`` an event added to a survivor through the merged customer's
    id (``Received.merged_from``) are that customer's: an undo gives them back to it."""
    if received.merged_from is None:
        return
    tenant, survivor = received.customer
    c = table.c
    await conn.execute(
        update(table)
        .where(c.tenant_id == tenant, c.customer_id == survivor, c.origin_id.is_(None), *which)
        .values(origin_id=received.merged_from)
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
        replace(
            r,
            event=r.event.model_copy(update={"subject": str(found[r.customer][1])}),
            merged_from=r.customer[1],
        )
        if r.event.subject and r.customer in found
        else r
        for r in batch
    ]
