"""Profile's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.profile import editing, search, views
from services.profile.attributes import visible
from shared.contracts.customers import Customer360, CustomerRefFound, LookupExternalId, LookupSource
from shared.contracts.records import (
    CustomerSearchPage,
    CustomerSummary,
    LookupEmail,
    LookupPhone,
    SearchAttribute,
    SearchCursor,
    SearchLimit,
    SearchStage,
    SearchText,
    SearchTier,
)
from shared.contracts.segments import SearchSegment
from shared.cursors import decode_id
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get("")
async def search_customers(
    runtime: RuntimeDep,
    tenant: TenantDep,
    q: SearchText = None,
    stage: SearchStage = None,
    tier: SearchTier = None,
    attribute: SearchAttribute = None,
    segment: SearchSegment = None,
    limit: SearchLimit = 50,
    cursor: SearchCursor = None,
) -> CustomerSearchPage:
    """Customers whose name, e-mail or phone matches ``q``, filtered by stage, tier,
    attributes and segment, by customer id (``cursor`` from the previous page)."""
    declared = {d.name: d for d in await editing.schema_of(runtime.db, tenant)}
    try:
        filters = search.typed_filters(declared, attribute or [])
    except search.UnknownFilter as error:
        raise Problem(
            422,
            "validation-failed",
            f"Fix the attribute filter: {error} (see /v1/profile/attributes).",
            errors=[{"field": "query.attribute", "message": str(error)}],
        ) from error
    wanted = search.Search(
        tenant, q, stage, tier, filters, limit, decode_id(cursor) if cursor else None, segment
    )
    rows = await search.run(runtime.db.engine, wanted)
    page = [
        CustomerSummary(**{**r, "attributes": visible(declared, r["attributes"] or {})})
        for r in rows[:limit]
    ]
    last = str(page[-1].customer_id) if len(rows) > limit else None
    return CustomerSearchPage(customers=page, next_cursor=last)


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
