"""Profile's read side: the queries behind the customer and merge-candidate endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.profile import domain
from services.profile.store import MAX_MERGE_HOPS
from services.profile.tables import customer, identity, merge_candidate
from services.profile.tables import customer_view as view
from shared.cursors import encode_keyset


async def find_by_reference(
    engine: AsyncEngine, tenant_id: str, source: str, external_id: str
) -> uuid.UUID | None:
    """The customer a partner system knows as ``external_id``, if any: only a partner
    reference answers (never an e-mail or phone), and a merged customer's references
    answer with the survivor."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            select(identity.c.customer_id).where(
                identity.c.tenant_id == tenant_id,
                identity.c.kind == f"ref:{source}",
                identity.c.value == external_id,
            )
        )
        if found is None:
            return None
        row = await _live_customer(conn, tenant_id, found)
    return row.customer_id if row is not None else None


async def _live_customer(conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID) -> Any:
    """The customer, or the survivor it was merged into."""
    for _ in range(MAX_MERGE_HOPS):
        row = (
            await conn.execute(
                select(customer).where(
                    customer.c.tenant_id == tenant_id, customer.c.customer_id == customer_id
                )
            )
        ).first()
        if row is None or row.merged_into is None:
            return row
        customer_id = row.merged_into
    return None


async def customer_360(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, Any] | None:
    """The customer and their 360 row, or None (also for another tenant's customer).

    A merged customer answers with its survivor's 360 (whose ``customer_id`` says
    so). A customer whose first events have not been folded yet (or whose 360 is
    being rebuilt) reads as a 360 nobody has said anything about."""
    async with engine.connect() as conn:
        record = await _live_customer(conn, tenant_id, customer_id)
        if record is None:
            return None
        live = record.customer_id
        rows = await conn.execute(
            select(view).where(
                view.c.tenant_id == tenant_id,
                or_(view.c.customer_id == live, view.c.merged_into == live),
            )
        )
        views = [_view(r._mapping) for r in rows]
    own = next(
        (v for v in views if v["customer_id"] == live),
        domain.new_view(tenant_id, live, record.created_at),
    )
    found = domain.combine(own, [v for v in views if v["customer_id"] != live])
    return {**found, "name": record.name, "email": record.email, "phone": record.phone}


async def candidates_page(
    engine: AsyncEngine,
    tenant_id: str,
    status: str | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> dict[str, Any]:
    """Merge candidates oldest first (a work queue); the cursor is the last one's
    (found_at, candidate_id), so pages stay stable while new candidates arrive."""
    m = merge_candidate.c
    query = select(merge_candidate).where(m.tenant_id == tenant_id)
    if status is not None:
        query = query.where(m.status == status)
    if after:
        at, candidate_id = after
        query = query.where(
            or_(m.found_at > at, and_(m.found_at == at, m.candidate_id > candidate_id))
        )
    query = query.order_by(m.found_at, m.candidate_id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    page = rows[:limit]
    return {
        "candidates": [dict(r._mapping) for r in page],
        "next_cursor": (
            encode_keyset(page[-1].found_at, page[-1].candidate_id) if len(rows) > limit else None
        ),
    }


async def candidate(engine: AsyncEngine, tenant_id: str, candidate_id: uuid.UUID) -> Any:
    m = merge_candidate.c
    async with engine.connect() as conn:
        query = select(merge_candidate).where(
            m.tenant_id == tenant_id, m.candidate_id == candidate_id
        )
        return (await conn.execute(query)).first()


def _view(row: Mapping[Any, Any]) -> domain.View:
    """A 360 row, typed (``merged_into`` is the fold's business, not the reader's)."""
    return cast(domain.View, {k: v for k, v in row.items() if k != "merged_into"})
