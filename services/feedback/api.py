"""Feedback's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from services.feedback import resolutions, views
from services.feedback.settings import FeedbackSettings
from shared.contracts.feedback import (
    Complaint,
    ComplaintCursor,
    ComplaintLimit,
    ComplaintPage,
    InvitationList,
    ResolutionRequest,
    Scores,
    WindowEnd,
    WindowStart,
)
from shared.cursors import decode_keyset
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[Runtime[FeedbackSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1", tags=["feedback"])
DEFAULT_WINDOW = timedelta(days=30)


@router.get("/customers/{customer_id}/complaints")
async def get_complaints(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    limit: ComplaintLimit = 50,
    cursor: ComplaintCursor = None,
) -> ComplaintPage:
    """The customer's complaints, newest first, with status, SLA deadline and escalation."""
    after = decode_keyset(cursor) if cursor else None
    return await views.complaints_page(runtime.db.engine, tenant, customer_id, limit, after)


@router.get("/customers/{customer_id}/invitations")
async def get_invitations(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> InvitationList:
    """The customer's open survey invitations (sent, not answered, not expired)."""
    now = runtime.clock.now()
    return await views.open_invitations(runtime.db.engine, tenant, customer_id, now)


@router.post("/customers/{customer_id}/complaints/{complaint_id}/resolution")
async def resolve_complaint(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    complaint_id: uuid.UUID,
    body: ResolutionRequest,
) -> Complaint:
    """Resolve an open complaint at the service desk (announced like a partner's
    resolution, ``resolved_by`` "desk"); 404 for an unknown one, 409 once resolved."""
    command = resolutions.ResolveAtDesk(
        tenant, customer_id, complaint_id, body.resolution, body.compensation_points
    )
    try:
        resolved = await resolutions.resolve_at_desk(runtime.db, command)
    except resolutions.UnknownComplaint:
        raise Problem(
            404, "complaint-not-found",
            f"Customer {customer_id} has no complaint {complaint_id}; list them at "
            f"/v1/customers/{customer_id}/complaints.",
        ) from None  # fmt: skip
    except resolutions.AlreadyResolved as done:
        when = done.resolved_at.isoformat() if done.resolved_at else "earlier"
        raise Problem(
            409, "complaint-already-resolved",
            f"Complaint {complaint_id} was resolved at {when}; a resolution is final.",
        ) from None  # fmt: skip
    return views.complaint_answer(resolved)


@router.get("/feedback/scores")
async def get_scores(
    runtime: RuntimeDep,
    tenant: TenantDep,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Scores:
    """NPS, CSAT and CES of the tenant's answers in [from, to) (default: the last 30
    days); a survey nobody answered scores null."""
    end = end or runtime.clock.now()
    start = start or end - DEFAULT_WINDOW
    if start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    found = await views.satisfaction(runtime.db.engine, tenant, start, end)
    return Scores.model_validate({"from_": start, "to": end, **found})
