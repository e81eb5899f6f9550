"""Lifecycle's aggregate reads over a period: the customers won back and what they have
spent since, conversion down the funnel and time in each stage, and retention by
cohort of first purchase (``shared.contracts.lifecycle``). Set-based: each figure is
one grouped query, whatever the number of customers."""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, extract, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.lifecycle.domain import rfm
from services.lifecycle.domain.config import STAGES
from services.lifecycle.tables import lifecycle_purchase, stage_history
from shared.contracts.lifecycle import (
    Cohort,
    Cohorts,
    FunnelConversion,
    StageConversion,
    StageTime,
    WinbackRevenue,
    Winbacks,
)
from shared.db import is_postgres

# The funnel's stages in the order a customer goes down it.
FUNNEL = ("prospect", "lead", "new_customer", "active", "loyal")
DAY = 86_400.0

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


async def conversion(
    engine: AsyncEngine, tenant: str, start: datetime, end: datetime
) -> FunnelConversion:
    """Conversion between consecutive funnel stages, and the median stay in each stage."""
    async with engine.connect() as conn:
        conversions = [
            await _converted(conn, tenant, start, end, FUNNEL[i], FUNNEL[i + 1 :])
            for i in range(len(FUNNEL) - 1)
        ]
        times = await _time_in_stage(conn, tenant, start, end)
    return FunnelConversion.model_validate(
        {"from_": start, "to": end, "conversions": conversions, "time_in_stage": times}
    )


async def _converted(
    conn: AsyncConnection,
    tenant: str,
    start: datetime,
    end: datetime,
    stage: str,
    onward: Sequence[str],
) -> StageConversion:
    h = stage_history.c
    entered = (
        select(h.customer_id, func.min(h.at).label("entered_at"))
        .where(h.tenant_id == tenant, h.to_stage == stage, h.at >= start, h.at < end)
        .group_by(h.customer_id)
        .subquery()
    )
    later = stage_history.alias("later")
    moved_on = exists().where(
        later.c.tenant_id == tenant,
        later.c.customer_id == entered.c.customer_id,
        later.c.to_stage.in_(list(onward)),
        later.c.at >= entered.c.entered_at,
        later.c.at < end,
    )
    counts = select(func.count(), func.count().filter(moved_on))
    total, converted = (await conn.execute(counts.select_from(entered))).one()
    return StageConversion.model_validate(
        {
            "from_stage": stage,
            "to_stage": onward[0],
            "entered": total,
            "converted": converted,
            "rate": converted / total if total else None,
        }
    )


async def _time_in_stage(
    conn: AsyncConnection, tenant: str, start: datetime, end: datetime
) -> list[StageTime]:
    """The stays that ended in the window: each history row until the customer's next."""
    h = stage_history.c
    left = func.lead(h.at, type_=h.at.type).over(partition_by=h.customer_id, order_by=(h.at, h.id))
    stays = (
        select(h.to_stage.label("stage"), h.at.label("entered_at"), left.label("left_at"))
        .where(h.tenant_id == tenant, h.at < end)
        .subquery()
    )
    ended = (stays.c.left_at >= start, stays.c.left_at < end)
    if is_postgres(conn):
        seconds = func.extract("epoch", stays.c.left_at - stays.c.entered_at)
        median = func.percentile_cont(0.5).within_group(seconds)
        rows = await conn.execute(
            select(stays.c.stage, func.count(), median).where(*ended).group_by(stays.c.stage)
        )
        found = {stage: (n, m / DAY if m is not None else None) for stage, n, m in rows}
    else:  # the embedded tier: no percentile in SQLite, so the median is taken here
        rows = await conn.execute(select(stays).where(*ended))
        by_stage: dict[str, list[float]] = {}
        for r in rows:
            by_stage.setdefault(r.stage, []).append((r.left_at - r.entered_at).total_seconds())
        found = {s: (len(d), statistics.median(d) / DAY) for s, d in by_stage.items()}
    return [
        StageTime(stage=s, stays=found.get(s, (0, None))[0], median_days=found.get(s, (0, None))[1])
        for s in STAGES
    ]


async def cohorts(
    engine: AsyncEngine, tenant: str, start: datetime, end: datetime, now: datetime
) -> Cohorts:
    """Each month of first purchase in [start, end): its customers, and how many of them
    bought in each month since, up to ``now``'s month."""
    p = lifecycle_purchase.c
    bought = (p.tenant_id == tenant, p.state == rfm.BOUGHT)
    first = (
        select(p.customer_id, func.min(p.purchased_at).label("first_at"))
        .where(*bought)
        .group_by(p.customer_id)
        .having(func.min(p.purchased_at) >= start, func.min(p.purchased_at) < end)
        .subquery()
    )
    cohort = _month(first.c.first_at)
    month = _month(p.purchased_at)
    active = (
        select(cohort, month, func.count(func.distinct(p.customer_id)))
        .join(first, first.c.customer_id == p.customer_id)
        .where(*bought)
        .group_by(cohort, month)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(active)).all()
    last = now.year * 12 + now.month - 1
    matrix: dict[int, dict[int, int]] = {}
    for first_month, bought_month, n in rows:
        matrix.setdefault(int(first_month), {})[int(bought_month) - int(first_month)] = n
    return Cohorts.model_validate(
        {
            "from_": start,
            "to": end,
            "cohorts": [_cohort(m, matrix[m], last) for m in sorted(matrix)],
        }
    )


def _month(at: ColumnElement[datetime]) -> ColumnElement[int]:
    """Months since year 0 (UTC), so a difference counts months across years."""
    return extract("year", at) * 12 + extract("month", at) - 1


def _cohort(month: int, active: dict[int, int], last: int) -> Cohort:
    customers = active.get(0, 0)
    by_month = [active.get(k, 0) for k in range(max(last - month, 0) + 1)]
    return Cohort(
        month=f"{month // 12:04d}-{month % 12 + 1:02d}",
        customers=customers,
        active=by_month,
        retention=[round(n / customers, 6) if customers else 0.0 for n in by_month],
    )
