"""Feedback routes, forwarded to the feedback service."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import (
    Admin,
    Reader,
    UpstreamsDep,
    failures,
    refuse_all_tenants_unless_operator,
)
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from shared.contracts.feedback import (
    ComplaintCursor,
    ComplaintLimit,
    ComplaintPage,
    FeedbackSweep,
    Scores,
    WindowEnd,
    WindowStart,
)
from shared.contracts.query import Id
from shared.contracts.sweeps import AllTenants

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.get(
    "/customers/{customer_id}/complaints",
    response_model=ComplaintPage,
    responses=failures(),
    openapi_extra=links(
        200,
        ResolveComplaint=link(
            "/v1/customers/{customer_id}/complaints/{complaint_id}/resolution",
            "post",
            customer_id="$request.path.customer_id",
            complaint_id="$response.body#/complaints/0/complaint_id",
        ),
    ),
)
async def get_complaints(
    customer_id: Id,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: ComplaintLimit = 50,
    cursor: ComplaintCursor = None,
) -> Response:
    """The customer's complaints, newest first, with status, SLA deadline and escalation
    (``cursor`` from the previous page)."""
    path = f"/v1/customers/{customer_id}/complaints"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


@router.get("/feedback/scores", response_model=Scores, responses=failures())
async def get_scores(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Response:
    """NPS, CSAT and CES of the tenant's answers in [from, to) (default: the last 30 days);
    422 if ``from`` lies after ``to``."""
    return await upstreams.forward("feedback", "/v1/feedback/scores", caller.tenant_id, request)


@router.post("/feedback/sweep", tags=["admin"], response_model=FeedbackSweep, responses=failures())
async def sweep(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    all_tenants: AllTenants = False,
) -> Response:
    """Send the tenant's survey invitations, lapse its invitations and escalate its
    complaints due now (every tenant's with ``?all_tenants=true``, operator only)."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    path = "/v1/feedback/sweep"
    answer = await upstreams.forward("feedback", path, caller.tenant_id, request)
    return await audit.recorded(runtime.db, caller, answer, audit.swept("feedback", all_tenants))
