"""Merges in SQL beyond the merge itself (``store.merge``): the customers an operator
names, a merge's record, and its undo. Nothing here commits: the unit of work does."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.profile.resolution import CustomerKey, Record
from services.profile.store import record_of
from services.profile.tables import customer, customer_merge, identity
from services.profile.unmerging import Moved, UnmergePlan
from shared.contracts.profile import MergeMoved, MergeRecord, MergeUndo, UndoMoved
from shared.db import insert_ignoring_conflicts, keys_in

RECORD_COLUMNS = (
    "merge_id", "survivor_id", "merged_id", "candidate_id", "decided_at", "decided_by", "reason"
)  # fmt: skip


async def customers(
    conn: AsyncConnection, tenant_id: str, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[Record, uuid.UUID | None]]:
    """These customers as they are (not followed to a survivor), locked in key order,
    each with whom it was merged into (None while it is its own)."""
    c = customer.c
    rows = await conn.execute(
        select(customer)
        .where(c.tenant_id == tenant_id, c.customer_id.in_(ids))
        .order_by(c.customer_id)
        .with_for_update()
    )
    return {r["customer_id"]: (record_of(r), r["merged_into"]) for r in rows.mappings()}


async def merge_row(
    conn: AsyncConnection, tenant_id: str, merge_id: uuid.UUID, *, lock: bool = False
) -> RowMapping | None:
    m = customer_merge.c
    query = select(customer_merge).where(m.tenant_id == tenant_id, m.merge_id == merge_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def unmerge(
    conn: AsyncConnection,
    survivor: Record,
    merged: CustomerKey,
    moved: Moved,
    plan: UnmergePlan,
    undone: dict[str, object],
) -> None:
    """Apply an undo: identities go back or are made anew, the survivor's filled
    details are emptied, the merged customer (and those merged into it before) stand
    apart again, and the undo is recorded beside the merge (``undone``: its columns)."""
    tenant, i, c = merged[0], identity.c, customer.c
    now = undone["undone_at"]
    if plan.back:
        await conn.execute(
            update(identity)
            .where(
                and_(i.tenant_id == tenant, i.customer_id == survivor.key[1]),
                keys_in(conn, [i.kind, i.value], plan.back),
            )
            .values(customer_id=merged[1])
        )
    await insert_ignoring_conflicts(conn, identity, _restored(merged, moved, plan, now))
    if plan.cleared:
        await conn.execute(
            update(customer)
            .where(c.tenant_id == tenant, c.customer_id == survivor.key[1])
            .values(updated_at=now, **dict.fromkeys(plan.cleared))
        )
    await conn.execute(
        update(customer)
        .where(c.tenant_id == tenant, c.customer_id == merged[1])
        .values(merged_into=None, merged_at=None, updated_at=now)
    )
    if moved.repointed:
        await conn.execute(
            update(customer)
            .where(
                c.tenant_id == tenant,
                c.customer_id.in_([uuid.UUID(r) for r in moved.repointed]),
                c.merged_into == survivor.key[1],
            )
            .values(merged_into=merged[1])
        )
    m = customer_merge.c
    await conn.execute(
        update(customer_merge)
        .where(m.tenant_id == tenant, m.merge_id == undone["merge_id"])
        .values(
            undone_at=now,
            undone_by=undone["undone_by"],
            undo_reason=undone["undo_reason"],
            undo_moved=undone["undo_moved"],
        )
    )


def _restored(
    merged: CustomerKey, moved: Moved, plan: UnmergePlan, now: object
) -> list[dict[str, object]]:
    """The identity rows made anew for the merged customer: as the merge released them
    (first and last seen kept) or, for one it filled the survivor with, seen now."""
    kept = {(r["kind"], r["value"]): r for r in moved.released_rows}
    rows: list[dict[str, object]] = []
    for kind, value in plan.restore:
        row = kept.get((kind, value))
        rows.append(
            {
                "tenant_id": merged[0],
                "kind": kind,
                "value": value,
                "customer_id": merged[1],
                "source": row["source"] if row else "merge-undo",
                "created_at": _instant(row["created_at"]) if row else now,
                "last_seen_at": _instant(row["last_seen_at"]) if row else None,
            }
        )
    return rows


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def merge_record(
    engine: AsyncEngine, tenant_id: str, merge_id: uuid.UUID
) -> MergeRecord | None:
    """A merge as the operator reads it (None also for another tenant's)."""
    async with engine.connect() as conn:
        row = await merge_row(conn, tenant_id, merge_id)
    if row is None:
        return None
    moved = Moved.of(row["moved"])
    undo = None
    if row["undone_at"] is not None:
        undo = MergeUndo(
            undone_at=row["undone_at"],
            undone_by=row["undone_by"],
            reason=row["undo_reason"],
            moved=UndoMoved.model_validate(row["undo_moved"]),
        )
    return MergeRecord(
        **{k: row[k] for k in RECORD_COLUMNS},
        moved=MergeMoved(
            moved=[list(i) for i in moved.moved],
            released=[list(i) for i in moved.released],
            filled=dict(moved.filled),
            repointed=[uuid.UUID(r) for r in moved.repointed],
        ),
        undo=undo,
    )
