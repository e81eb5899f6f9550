"""Profile's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.profile import views
from shared.app import RuntimeDep, TenantDep
from shared.events.bounds import Text
from shared.events.lifecycle import RiskReason
from shared.problems import Problem

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class CustomerRefFound(BaseModel):
    customer_id: uuid.UUID


class ChurnRisk(BaseModel):
    score: int
    level: str
    reasons: list[RiskReason]


class LoyaltySummary(BaseModel):
    tier: str
    points_balance: int
    points_pending: int


class FeedbackSummary(BaseModel):
    last_nps: int | None
    open_complaints: int


class PurchaseStats(BaseModel):
    orders: int
    revenue_minor: int
    currency: str | None
    last_purchase_at: datetime | None


class Customer360(BaseModel):
    customer_id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    stage: str | None
    stage_since: datetime | None
    churn_risk: ChurnRisk | None
    loyalty: LoyaltySummary
    feedback: FeedbackSummary
    stats: PurchaseStats
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> Customer360:
        churn = (
            ChurnRisk(
                score=row["churn_score"], level=row["churn_level"], reasons=row["churn_reasons"]
            )
            if row["churn_score"] is not None
            else None
        )
        return cls(
            churn_risk=churn,
            loyalty=LoyaltySummary.model_validate(row),
            feedback=FeedbackSummary.model_validate(row),
            stats=PurchaseStats.model_validate(row),
            **{
                k: row[k] for k in ("customer_id", "name", "email", "phone", "stage", "stage_since")
            },
            updated_at=row["updated_at"],
        )


@router.get("/lookup")
async def lookup(
    runtime: RuntimeDep,
    tenant: TenantDep,
    source: Annotated[Text, Query(min_length=1, max_length=64)],
    external_id: Annotated[Text, Query(min_length=1, max_length=128)],
) -> CustomerRefFound:
    """Find the customer a partner system knows by its own id (only a reference that
    source holds answers; a merged customer's answers with the survivor)."""
    found = await views.find_by_reference(runtime.db.engine, tenant, source, external_id)
    if found is None:
        raise Problem(404, "customer-not-found", f"No customer is known as {source}/{external_id}.")
    return CustomerRefFound(customer_id=found)


@router.get("/{customer_id}")
async def get_customer(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> Customer360:
    """The customer 360: identity, stage, churn risk, loyalty, feedback and purchase
    statistics; a merged customer answers with its survivor's 360."""
    row = await views.customer_360(runtime.db.engine, tenant, customer_id)
    if row is None:
        raise Problem(404, "customer-not-found", f"No customer {customer_id} exists.")
    return Customer360.of(row)
