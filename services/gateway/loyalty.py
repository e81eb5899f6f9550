"""Loyalty routes, forwarded to the loyalty service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from services.gateway.auth import (
    Admin,
    LoyaltyWriter,
    Reader,
    UpstreamsDep,
    refuse_all_tenants_unless_operator,
)

router = APIRouter(prefix="/v1", tags=["loyalty"])


@router.get("/customers/{customer_id}/loyalty")
async def get_loyalty(
    customer_id: uuid.UUID, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's tier, available and pending points, and the next expiry."""
    path = f"/v1/customers/{customer_id}/loyalty"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)


@router.get("/customers/{customer_id}/loyalty/ledger")
async def get_ledger(
    customer_id: uuid.UUID,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The customer's ledger entries, newest first (``cursor`` from the previous page)."""
    path = f"/v1/customers/{customer_id}/loyalty/ledger"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)


@router.post("/customers/{customer_id}/loyalty/redemptions", status_code=201)
async def redeem_points(
    customer_id: uuid.UUID,
    request: Request,
    caller: LoyaltyWriter,
    upstreams: UpstreamsDep,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1)],
) -> Response:
    """Spend points (body ``{"points", "reason"}``); ``409 insufficient-points`` when short,
    and a repeated ``Idempotency-Key`` returns the first answer."""
    path = f"/v1/customers/{customer_id}/loyalty/redemptions"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)


@router.post("/loyalty/sweep", tags=["admin"])
async def sweep(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    all_tenants: Annotated[
        bool, Query(description="Sweep every tenant (needs the operator scope)")
    ] = False,
) -> Response:
    """Run the caller's tenant's loyalty expiries, releases and tier reviews due now
    (every tenant's with ``?all_tenants=true``, operator only)."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    return await upstreams.forward("loyalty", "/v1/loyalty/sweep", caller.tenant_id, request)
