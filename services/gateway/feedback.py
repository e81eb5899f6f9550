"""Feedback routes, forwarded to the feedback service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.gateway.auth import Admin, Reader, UpstreamsDep, refuse_all_tenants_unless_operator
from shared.instants import Instant

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.get("/customers/{customer_id}/complaints")
async def get_complaints(
    customer_id: uuid.UUID,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The customer's complaints, newest first, with status, SLA deadline and escalation
    (``cursor`` from the previous page)."""
    path = f"/v1/customers/{customer_id}/complaints"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


@router.get("/feedback/scores")
async def get_scores(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
) -> Response:
    """NPS, CSAT and CES of the tenant's answers in [from, to) (default: the last 30 days)."""
    return await upstreams.forward("feedback", "/v1/feedback/scores", caller.tenant_id, request)


@router.post("/feedback/sweep", tags=["admin"])
async def sweep(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    all_tenants: Annotated[
        bool, Query(description="Sweep every tenant (needs the operator scope)")
    ] = False,
) -> Response:
    """Send the tenant's survey invitations, lapse its invitations and escalate its
    complaints due now (every tenant's with ``?all_tenants=true``, operator only)."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    return await upstreams.forward("feedback", "/v1/feedback/sweep", caller.tenant_id, request)
