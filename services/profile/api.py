"""Profile's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.profile import views
from shared.contracts.customers import (
    ChurnRiskSummary,
    Customer360,
    CustomerRefFound,
    FeedbackSummary,
    LookupExternalId,
    LookupSource,
    LoyaltySummary,
    PurchaseStats,
)
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1/customers", tags=["customers"])


def _customer_360(row: dict[str, Any]) -> Customer360:
    churn = (
        ChurnRiskSummary(
            score=row["churn_score"], level=row["churn_level"], reasons=row["churn_reasons"]
        )
        if row["churn_score"] is not None
        else None
    )
    return Customer360(
        churn_risk=churn,
        loyalty=LoyaltySummary.model_validate(row),
        feedback=FeedbackSummary.model_validate(row),
        stats=PurchaseStats.model_validate(row),
        **{k: row[k] for k in ("customer_id", "name", "email", "phone", "stage", "stage_since")},
        updated_at=row["updated_at"],
    )


@router.get("/lookup")
async def lookup(
    runtime: RuntimeDep,
    tenant: TenantDep,
    source: LookupSource,
    external_id: LookupExternalId,
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
    return _customer_360(row)
