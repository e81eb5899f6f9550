"""Feedback routes, forwarded to the feedback service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

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
from shared.contracts.analytics import ChannelAnalytics, ComplaintAnalytics
from shared.contracts.feedback import (
    ComplaintCursor,
    ComplaintLimit,
    ComplaintPage,
    FeedbackSweep,
    ScoreGroupBy,
    ScoreInterval,
    Scores,
    WindowEnd,
    WindowStart,
)
from shared.contracts.query import Id
from shared.contracts.sweeps import AllTenants
from shared.tabular import CSV_CONTENT

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.get(
    "/customers/{customer_id}/complaints",
    response_model=ComplaintPage,
    responses=failures(404),
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
    (``cursor`` from the previous page); 404 once the customer is erased."""
    path = f"/v1/customers/{customer_id}/complaints"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


@router.get("/feedback/scores", response_model=Scores, responses=failures() | CSV_CONTENT)
async def get_scores(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
    group_by: ScoreGroupBy = None,
    interval: ScoreInterval = None,
) -> Response:
    """NPS, CSAT and CES of the tenant's answers in [from, to) (default: the last 30 days),
    per ``group_by`` (channel, stage, tier, value_class) and ``interval`` (day, week,
    month) if asked, each figure with its answers and 95 % interval; 422 if ``from`` lies
    after ``to`` or the series would pass 400 periods."""
    return await upstreams.forward("feedback", "/v1/feedback/scores", caller.tenant_id, request)


@router.get(
    "/analytics/channels",
    tags=["analytics"],
    response_model=ChannelAnalytics,
    responses=failures() | CSV_CONTENT,
)
async def get_channels(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Response:
    """Per channel in [from, to) (default: the last 30 days, at most 731 days): customers,
    orders, revenue and average order per currency, complaints and complaint rate, NPS
    with its interval, and the share of customers who prefer it (feedback folds every
    fact it joins); 422 for a reversed or too long window."""
    path = "/v1/analytics/channels"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


ComplaintGroupBy = Annotated[
    Literal["category", "severity", "channel"], Query(description="What to group by")
]


@router.get(
    "/analytics/complaints",
    tags=["analytics"],
    response_model=ComplaintAnalytics,
    responses=failures() | CSV_CONTENT,
)
async def get_complaint_analytics(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
    group_by: ComplaintGroupBy = "category",
) -> Response:
    """Complaints opened in [from, to) (default: the last 30 days, at most 731 days) per
    ``group_by``: opened, resolved, SLA met and missed, attainment with its 95 % interval,
    median resolution hours; 422 for a reversed or too long window."""
    path = "/v1/analytics/complaints"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


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
    return await audit.forwarded(
        runtime.db,
        caller,
        audit.swept("feedback", all_tenants),
        lambda: upstreams.forward("feedback", path, caller.tenant_id, request),
    )
