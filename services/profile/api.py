"""Profile's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.profile import views
from shared.contracts.customers import Customer360, CustomerRefFound, LookupExternalId, LookupSource
from shared.contracts.records import LookupEmail, LookupPhone
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
    source: LookupSource = None,
    external_id: LookupExternalId = None,
    email: LookupEmail = None,
    phone: LookupPhone = None,
) -> CustomerRefFound:
    """Find a customer by one identity: a partner system's id (``source`` and
    ``external_id``; a merged customer's answers with the survivor), an ``email`` or a
    ``phone`` (every holder in ``matches``, oldest first)."""
    given = [
        name
        for name, value in (
            ("reference", external_id or source),
            ("email", email),
            ("phone", phone),
        )
        if value
    ]
    if len(given) != 1 or (given == ["reference"] and not (source and external_id)):
        raise Problem(
            422,
            "validation-failed",
            "Look up by one identity: source and external_id together, or email, or phone.",
            errors=[{"field": "query", "message": "exactly one identity"}],
        )
    if email or phone:
        kind, value = ("email", email.lower()) if email else ("phone", phone or "")
        holders = await views.holders(runtime.db.engine, tenant, kind, value)
        if not holders:
            raise Problem(404, "customer-not-found", f"No customer holds this {kind}.")
        return CustomerRefFound(customer_id=holders[0], matches=holders)
    assert source and external_id
    found = await views.find_by_reference(runtime.db.engine, tenant, source, external_id)
    if found is None:
        raise Problem(404, "customer-not-found", f"No customer is known as {source}/{external_id}.")
    return CustomerRefFound(customer_id=found, matches=[found])


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
