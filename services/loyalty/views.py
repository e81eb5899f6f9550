"""Loyalty's read side."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.loyalty.tables import account, ledger_entry


async def loyalty_summary(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, Any] | None:
    """Tier, balance (the sum of the ledger) and qualifying spend, or None if no account."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(account.c.tier, account.c.qualifying_spend_minor).where(
                    account.c.tenant_id == tenant_id, account.c.customer_id == customer_id
                )
            )
        ).first()
        if row is None:
            return None
        balance = await conn.scalar(
            select(func.coalesce(func.sum(ledger_entry.c.points), 0)).where(
                ledger_entry.c.tenant_id == tenant_id, ledger_entry.c.customer_id == customer_id
            )
        )
    return {
        "tier": row.tier,
        "points_balance": int(balance or 0),
        "points_pending": 0,
        "next_expiry": None,
        "qualifying_spend_minor": row.qualifying_spend_minor,
    }
