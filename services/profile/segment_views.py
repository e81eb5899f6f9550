"""Segments' read side: definitions with their size, a page of members, a customer's
segments, each answered as the API shows it (``shared.contracts.segments``). Other
services learn membership from ``segment_entered`` / ``segment_exited`` on crm.profile."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.profile.tables import customer, segment, segment_member
from shared.contracts.segments import (
    CustomerSegment,
    CustomerSegments,
    Segment,
    SegmentMember,
    SegmentMemberPage,
)


def _sized(tenant: str, segment_id: uuid.UUID | None = None) -> Select[Any]:
    s, m = segment.c, segment_member.c
    size = select(func.count()).where(m.segment_id == s.segment_id).scalar_subquery().label("size")
    query = select(segment, size).where(s.tenant_id == tenant)
    return query if segment_id is None else query.where(s.segment_id == segment_id)


async def segments(engine: AsyncEngine, tenant: str) -> list[Segment]:
    """The tenant's segments by name, each with its size."""
    async with engine.connect() as conn:
        rows = await conn.execute(_sized(tenant).order_by(segment.c.name))
    return [Segment.model_validate(r._mapping) for r in rows]


async def one(engine: AsyncEngine, tenant: str, segment_id: uuid.UUID) -> Segment | None:
    """The segment with its size, or None (also for another tenant's)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_sized(tenant, segment_id))).first()
    return Segment.model_validate(row._mapping) if row else None


async def members(
    engine: AsyncEngine, tenant: str, segment_id: uuid.UUID, limit: int, after: uuid.UUID | None
) -> SegmentMemberPage:
    """A page of the segment's members by customer id (keyset: stable as members come
    and go)."""
    m = segment_member.c
    query = select(m.customer_id, m.entered_at).where(
        m.segment_id == segment_id, m.tenant_id == tenant
    )
    if after is not None:
        query = query.where(m.customer_id > after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(m.customer_id).limit(limit + 1))).all()
    page = [SegmentMember.model_validate(r._mapping) for r in rows[:limit]]
    last = str(page[-1].customer_id) if len(rows) > limit else None
    return SegmentMemberPage(segment_id=segment_id, members=page, next_cursor=last)


async def of_customer(
    engine: AsyncEngine, tenant: str, customer_id: uuid.UUID
) -> CustomerSegments | None:
    """The segments the customer is in, by name; None if no such customer."""
    s, m, c = segment.c, segment_member.c, customer.c
    async with engine.connect() as conn:
        known = await conn.scalar(
            select(c.customer_id).where(c.tenant_id == tenant, c.customer_id == customer_id)
        )
        if known is None:
            return None
        rows = await conn.execute(
            select(s.segment_id, s.name, m.entered_at)
            .join(segment_member, m.segment_id == s.segment_id)
            .where(m.tenant_id == tenant, m.customer_id == customer_id)
            .order_by(s.name)
        )
    found = [CustomerSegment.model_validate(r._mapping) for r in rows]
    return CustomerSegments(customer_id=customer_id, segments=found)
