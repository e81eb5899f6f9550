"""Lifecycle's aggregate reads over a period: the customers won back and what they have
spent since (``shared.contracts.lifecycle``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.lifecycle.domain import rfm
from services.lifecycle.tables import lifecycle_purchase, stage_history
from shared.contracts.lifecycle import WinbackRevenue, Winbacks

# Where a win-back lands is anywhere but these (a move between them is no win-back).
_LAPSED = ("silent", "churned")


async def winbacks(
    engine: AsyncEngine,
    tenant: str,
    start: datetime,
    end: datetime,
    reactivation_from: Collection[str],
) -> Winbacks:
    """The win-backs in [start, end): moves out of a ``reactivation_from`` stage into a
    buying one, as the stage history records them; each customer's revenue counts from
    their first win-back in the window, up to now, per currency."""
    h, p = stage_history.c, lifecycle_purchase.c
    won = (
        select(h.customer_id, func.min(h.at).label("won_at"), func.count().label("times"))
        .where(
            h.tenant_id == tenant,
            h.from_stage.in_(list(reactivation_from)),
            h.to_stage.not_in(_LAPSED),
            h.at >= start,
            h.at < end,
        )
        .group_by(h.customer_id)
        .subquery()
    )
    revenue = (
        select(
            p.currency,
            func.count(func.distinct(p.customer_id)),
            func.sum(p.amount_minor - p.refunded_minor),
        )
        .join(won, won.c.customer_id == p.customer_id)
        .where(
            p.tenant_id == tenant,
            p.purchased_at >= won.c.won_at,
            p.state == rfm.BOUGHT,
            p.currency.is_not(None),
        )
        .group_by(p.currency)
        .order_by(p.currency)
    )
    async with engine.connect() as conn:
        customers, times = (
            await conn.execute(select(func.count(), func.coalesce(func.sum(won.c.times), 0)))
        ).one()
        rows = (await conn.execute(revenue)).all()
    return Winbacks.model_validate(
        {
            "from_": start,
            "to": end,
            "customers": customers,
            "winbacks": times,
            "revenue_since": [
                WinbackRevenue(currency=c, customers=n, revenue_minor=int(total or 0))
                for c, n, total in rows
            ],
        }
    )
