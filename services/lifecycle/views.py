"""Lifecycle's read side: a customer's stage history and churn risk, the funnel, the
service desk's lists, and the current model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.lifecycle import store
from services.lifecycle.domain.config import STAGES
from services.lifecycle.tables import customer_state, stage_history


async def customer_lifecycle(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, Any] | None:
    """The customer's stage, since when, and every transition, oldest first."""
    async with engine.connect() as conn:
        state = (
            await conn.execute(
                select(customer_state.c.stage, customer_state.c.stage_since).where(
                    customer_state.c.tenant_id == tenant_id,
                    customer_state.c.customer_id == customer_id,
                )
            )
        ).first()
        if state is None:
            return None
        history = await conn.execute(
            select(stage_history)
            .where(
                stage_history.c.tenant_id == tenant_id,
                stage_history.c.customer_id == customer_id,
            )
            .order_by(stage_history.c.at, stage_history.c.id)
        )
        return {
            "stage": state.stage,
            "since": state.stage_since,
            "history": [dict(h._mapping) for h in history],
        }


async def customer_risk(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, Any] | None:
    """The customer's churn risk with its reasons, and the RFM statistics behind it."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(customer_state).where(
                    customer_state.c.tenant_id == tenant_id,
                    customer_state.c.customer_id == customer_id,
                )
            )
        ).first()
    return dict(row._mapping) if row else None


async def funnel(engine: AsyncEngine, tenant_id: str, as_of: datetime | None) -> dict[str, int]:
    """How many customers stand in each stage now, or as of an instant (from the history)."""
    async with engine.connect() as conn:
        if as_of is None:
            query = (
                select(customer_state.c.stage, func.count())
                .where(customer_state.c.tenant_id == tenant_id)
                .group_by(customer_state.c.stage)
            )
        else:
            h = stage_history.c
            latest = (
                select(
                    h.to_stage,
                    func.row_number()
                    .over(partition_by=h.customer_id, order_by=(h.at.desc(), h.id.desc()))
                    .label("n"),
                )
                .where(h.tenant_id == tenant_id, h.at <= as_of)
                .subquery()
            )
            query = (
                select(latest.c.to_stage, func.count())
                .where(latest.c.n == 1)
                .group_by(latest.c.to_stage)
            )
        counts = {stage: n for stage, n in await conn.execute(query)}
    return {stage: counts.get(stage, 0) for stage in STAGES}


async def customers(
    engine: AsyncEngine,
    tenant_id: str,
    *,
    stage: str | None,
    risk_level: str | None,
    limit: int,
    after: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """A page of customers in a stage and/or at a risk level, by customer id."""
    c = customer_state.c
    query = select(
        c.customer_id, c.stage, c.stage_since, c.risk_score, c.risk_level, c.last_purchase_at
    ).where(c.tenant_id == tenant_id)
    if stage:
        query = query.where(c.stage == stage)
    if risk_level:
        query = query.where(c.risk_level == risk_level)
    if after:
        query = query.where(c.customer_id > after)
    async with engine.connect() as conn:
        rows = await conn.execute(query.order_by(c.customer_id).limit(limit))
        return [dict(r._mapping) for r in rows]


async def current_model(engine: AsyncEngine, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's latest fitted churn model."""
    async with engine.connect() as conn:
        row = await store.latest_model(conn, tenant_id)
    return dict(row) if row else None
