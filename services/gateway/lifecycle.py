"""Lifecycle routes, forwarded to the lifecycle service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.gateway.auth import Admin, Reader, UpstreamsDep, refuse_all_tenants_unless_operator

router = APIRouter(prefix="/v1", tags=["lifecycle"])


@router.get("/customers/{customer_id}/lifecycle")
async def get_lifecycle(
    customer_id: uuid.UUID, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's stage and its history."""
    path = f"/v1/customers/{customer_id}/lifecycle"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/customers/{customer_id}/churn-risk")
async def get_churn_risk(
    customer_id: uuid.UUID, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's churn-risk score, level and ranked reasons, with their RFM statistics."""
    path = f"/v1/customers/{customer_id}/churn-risk"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/lifecycle/funnel")
async def get_funnel(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """How many customers stand in each stage, now or ``?as_of=``."""
    return await upstreams.forward("lifecycle", "/v1/lifecycle/funnel", caller.tenant_id, request)


@router.get("/lifecycle/customers")
async def list_customers(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """A page of customers by ``stage`` and/or ``risk_level`` (``limit``, ``cursor``)."""
    path = "/v1/lifecycle/customers"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/lifecycle/model")
async def get_model(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """The churn model scoring the tenant's customers."""
    return await upstreams.forward("lifecycle", "/v1/lifecycle/model", caller.tenant_id, request)


@router.post("/lifecycle/model/fit")
async def fit_model(request: Request, caller: Admin, upstreams: UpstreamsDep) -> Response:
    """Fit the churn model on purchase histories up to ``as_of`` (admin)."""
    path = "/v1/lifecycle/model/fit"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.post("/lifecycle/sweep")
async def sweep(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    all_tenants: Annotated[
        bool, Query(description="Sweep every tenant (needs the operator scope)")
    ] = False,
) -> Response:
    """Run the caller's tenant's time-based transitions due now (every tenant's with
    ``?all_tenants=true``, operator only); how many customers moved."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    return await upstreams.forward("lifecycle", "/v1/lifecycle/sweep", caller.tenant_id, request)
