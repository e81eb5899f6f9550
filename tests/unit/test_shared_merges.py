"""``shared.merges`` on any two customers' rows: whatever keys they share (the same
order id from two tills), a merge keeps every row on the survivor, and its undo gives
each customer back exactly its own rows with their own keys, plus what came through
the merged customer's id while the merge stood (``claim``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared import merges
from shared.bus import Record
from shared.db import create_engine
from shared.events import CloudEvent
from shared.events.activity import PurchaseCompleted
from shared.subscription import Received
from tests.handlers.bench import NOW, TENANT, event

metadata = MetaData()
held = Table(
    "held",
    metadata,
    Column("row_id", Integer, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("ref", String(20), nullable=False),
    Column("origin_id", Uuid),
    UniqueConstraint("tenant_id", "customer_id", "ref"),
)
SURVIVOR, MERGED = uuid.uuid4(), uuid.uuid4()
refs = st.sets(st.sampled_from(["O-1", "O-2", "O-3", "A-long-order-id-1"]), max_size=4)


async def _rows(conn: AsyncConnection, customer: uuid.UUID) -> list[tuple[int, str, Any]]:
    c = held.c
    found = await conn.execute(
        select(c.row_id, c.ref, c.origin_id).where(c.customer_id == customer)
    )
    return sorted(tuple(r) for r in found)


def _arrival(order: str) -> Received[Any]:
    e: CloudEvent = event(
        PurchaseCompleted(order_id=order, amount_minor=1, currency="CNY", channel="web"),
        SURVIVOR,
        NOW,
    )
    return Received(e, e.payload(), Record("t", 0, 0, None, None), merged_from=MERGED)


async def merge_and_undo(
    engine: AsyncEngine, ours: set[str], theirs: set[str], late: set[str]
) -> None:
    """Both customers' rows, a merge, what came through the merged id, the undo: each
    side has its own back (checked within one transaction, rolled back)."""
    async with engine.connect() as conn, conn.begin() as transaction:
        await conn.run_sync(metadata.create_all)
        rows = [(SURVIVOR, r) for r in sorted(ours)] + [(MERGED, r) for r in sorted(theirs)]
        if rows:
            values = [{"tenant_id": TENANT, "customer_id": c, "ref": r} for c, r in rows]
            await conn.execute(insert(held), values)
        before = await _rows(conn, SURVIVOR), await _rows(conn, MERGED)

        await merges.move_to_survivor(conn, [held], TENANT, MERGED, SURVIVOR)
        one = await _rows(conn, SURVIVOR)
        stayed = await _rows(conn, MERGED)  # only what a renamed key would not fit
        assert len(one) + len(stayed) == len(rows)
        assert all(len(r) + 9 > 20 and r in ours for _, r, _ in stayed)
        new = sorted(late - {r for _, r, _ in one})
        for n, ref in enumerate(new):
            await conn.execute(insert(held).values(
                row_id=1000 + n, tenant_id=TENANT, customer_id=SURVIVOR, ref=ref
            ))  # fmt: skip
            await merges.claim(conn, held, _arrival(ref), held.c.ref == ref)

        await merges.move_back(conn, [held], TENANT, SURVIVOR, MERGED, [])
        assert await _rows(conn, SURVIVOR) == before[0]
        arrived = [(1000 + n, ref, None) for n, ref in enumerate(new)]
        assert await _rows(conn, MERGED) == sorted([*before[1], *arrived])
        await transaction.rollback()


@settings(max_examples=150, deadline=None)
@given(ours=refs, theirs=refs, late=refs)
def test_a_merge_keeps_every_row_and_its_undo_gives_each_side_its_own(ours, theirs, late):
    async def run() -> None:
        engine = create_engine("sqlite+aiosqlite:///:memory:")
        try:
            await merge_and_undo(engine, ours, theirs, late)
        finally:
            await engine.dispose()

    asyncio.run(run())
