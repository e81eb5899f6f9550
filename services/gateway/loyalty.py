"""Loyalty routes, forwarded to the loyalty service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from services.gateway.auth import Reader, UpstreamsDep

router = APIRouter(prefix="/v1", tags=["loyalty"])


@router.get("/customers/{customer_id}/loyalty")
async def get_loyalty(
    customer_id: uuid.UUID, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's tier and points."""
    path = f"/v1/customers/{customer_id}/loyalty"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)
