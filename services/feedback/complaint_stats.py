"""Complaint analytics (``domain.complaint_figures`` defines the figures): the window's
complaints by category, severity or channel, read from feedback's own table through the
tenant's (tenant, opened_at) range; the figures are computed over the four columns they
need."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.feedback.domain.complaint_figures import ComplaintGroup, Filed, figures
from services.feedback.tables import complaint

ComplaintGroupBy = Literal["category", "severity", "channel"]


async def complaint_figures(
    engine: AsyncEngine,
    tenant_id: str,
    window: tuple[datetime, datetime],
    group_by: ComplaintGroupBy,
    now: datetime,
) -> list[ComplaintGroup]:
    """Opened, resolved, SLA met and missed, attainment and median resolution per group."""
    c = complaint.c
    query = select(c[group_by], c.opened_at, c.due_at, c.resolved_at).where(
        c.tenant_id == tenant_id, c.opened_at >= window[0], c.opened_at < window[1]
    )
    async with engine.connect() as conn:
        rows = await conn.execute(query)
        return figures((Filed(*row) for row in rows), now)
