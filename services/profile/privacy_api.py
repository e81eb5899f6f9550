"""Erasures over HTTP (reached through the gateway, which checks the ``privacy:erase``
scope and names the requesting key)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.profile import privacy
from shared.contracts.privacy import ErasureJob, ErasureReason
from shared.erasure import export_router
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(tags=["privacy"])
router.include_router(export_router("profile", privacy.export, must_hold="customer"))


@router.delete("/v1/customers/{customer_id}", status_code=202)
async def erase_customer(
    request: Request,
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    reason: ErasureReason,
) -> ErasureJob:
    """Erase the customer here at once and have every service erase it (the job says
    when each has confirmed)."""
    # The gateway names the requesting key in the (signed) query; the public route has
    # no such parameter, so it is read here rather than declared.
    requested_by = request.query_params.get("requested_by", "")[:200] or None
    try:
        return await privacy.erase(runtime.db, tenant, customer_id, reason, requested_by)
    except privacy.CustomerNotFound as error:
        raise Problem(
            404,
            "customer-not-found",
            f"No customer {customer_id} in this tenant (or it was erased already).",
        ) from error


@router.get("/v1/privacy/erasures/{erasure_id}")
async def get_erasure(runtime: RuntimeDep, tenant: TenantDep, erasure_id: uuid.UUID) -> ErasureJob:
    """An erasure's job: which services have confirmed, and when the last one did."""
    found = await privacy.job(runtime.db.engine, tenant, erasure_id)
    if found is None:
        raise Problem(404, "erasure-not-found", f"No erasure {erasure_id} in this tenant.")
    return found
