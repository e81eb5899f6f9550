"""Profile's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.profile import views
from shared.contracts.customers import Customer360, CustomerRefFound, LookupExternalId, LookupSource
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1/customers", tags=["customers"])


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
    found = await views.customer_360(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise Problem(404, "customer-not-found", f"No customer {customer_id} exists.")
    return found
