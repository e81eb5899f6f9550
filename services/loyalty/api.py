"""Loyalty's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from services.loyalty import views
from shared.app import RuntimeDep, TenantDep
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["loyalty"])


class NextExpiry(BaseModel):
    points: int
    at: str


class LoyaltyAccount(BaseModel):
    tier: str
    points_balance: int
    points_pending: int
    next_expiry: NextExpiry | None
    qualifying_spend_minor: int


@router.get("/customers/{customer_id}/loyalty")
async def get_loyalty(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> LoyaltyAccount:
    """The customer's tier, points balance and pending points."""
    found = await views.loyalty_summary(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise Problem(
            404, "customer-not-found", f"Loyalty has no account for customer {customer_id}."
        )
    return LoyaltyAccount.model_validate(found)
