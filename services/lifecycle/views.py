"""Lifecycle's read side: a customer's stage history and the funnel."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.lifecycle.tables import customer_state, stage_history
from shared.events.lifecycle import Stage

STAGES: tuple[Stage, ...] = (
    "prospect",
    "lead",
    "new_customer",
    "active",
    "loyal",
    "silent",
    "churned",
)


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


async def funnel(engine: AsyncEngine, tenant_id: str) -> dict[str, int]:
    """How many customers stand in each stage now."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(customer_state.c.stage, func.count())
            .where(customer_state.c.tenant_id == tenant_id)
            .group_by(customer_state.c.stage)
        )
        counts = {stage: n for stage, n in rows}
    return {stage: counts.get(stage, 0) for stage in STAGES}
