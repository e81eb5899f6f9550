"""Lifecycle routes, forwarded to the lifecycle service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from services.gateway.auth import Reader, UpstreamsDep

router = APIRouter(prefix="/v1", tags=["lifecycle"])


@router.get("/customers/{customer_id}/lifecycle")
async def get_lifecycle(
    customer_id: uuid.UUID, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's stage and its history."""
    path = f"/v1/customers/{customer_id}/lifecycle"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/lifecycle/funnel")
async def get_funnel(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """How many customers stand in each stage."""
    return await upstreams.forward("lifecycle", "/v1/lifecycle/funnel", caller.tenant_id, request)
