"""Feedback's HTTP API for complaints and the desk (reached through the gateway, which
authenticates): a customer's complaints, the desk's queue, one complaint with its
notes, an agent's changes and notes, the desk's resolution, and the scores."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.feedback import desk, resolutions, satisfaction, sealing, sheets, views
from services.feedback.domain.complaints import IllegalStep
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.desk import Note, TooManyNotes
from services.feedback.resources import FeedbackRuntime
from shared.contracts import desk as contract
from shared.contracts.feedback import (
    Complaint,
    ComplaintCursor,
    ComplaintLimit,
    ComplaintPage,
    RecordedResolution,
    ScoreGroup,
    ScoreGroupBy,
    ScoreInterval,
    Scores,
    WindowEnd,
    WindowStart,
)
from shared.cursors import decode_keyset
from shared.keyring import KeysUnavailable
from shared.problems import Problem
from shared.runtime import TenantDep, get_runtime
from shared.tabular import wants_csv

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[FeedbackRuntime, Depends(get_runtime)]


async def policy_of(runtime: FeedbackRuntime, tenant: str) -> FeedbackConfig:
    """The tenant's feedback policy in force (its own, else the installation's)."""
    return await runtime.resources.policies.current(runtime.db.engine, tenant)


router = APIRouter(prefix="/v1", tags=["feedback"])
DEFAULT_WINDOW = timedelta(days=30)
ONE = "/customers/{customer_id}/complaints/{complaint_id}"


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
    now = runtime.clock.now()
    return await views.complaints_page(runtime.db.engine, tenant, customer_id, limit, after, now)


@router.get("/feedback/complaints")
async def get_desk(
    runtime: RuntimeDep,
    tenant: TenantDep,
    status: contract.DeskStatusFilter = None,
    severity: contract.SeverityFilter = None,
    breached: contract.BreachedFilter = None,
    assignee: contract.AssigneeFilter = None,
    category: contract.CategoryFilter = None,
    limit: contract.DeskLimit = 50,
    cursor: contract.DeskCursor = None,
) -> contract.DeskPage:
    """The desk's queue: the tenant's complaints across customers, the soonest due first."""
    wanted = views.DeskQuery(status, severity, breached, assignee, category)
    after = decode_keyset(cursor) if cursor else None
    now = runtime.clock.now()
    return await views.desk_page(runtime.db.engine, tenant, wanted, limit, after, now)


@router.get(ONE)
async def get_complaint(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID, complaint_id: uuid.UUID
) -> contract.ComplaintDetail:
    """One complaint with its text, resolution and the agents' notes."""
    now = runtime.clock.now()
    found = await views.complaint_detail(runtime.db.engine, tenant, customer_id, complaint_id, now)
    if found is None:
        raise _unknown(customer_id, complaint_id)
    return found


@router.patch(ONE)
async def change_complaint(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    complaint_id: uuid.UUID,
    body: contract.RecordedChange,
) -> Complaint:
    """An agent's change: the status (409 naming the states for a step the machine
    has no arrow for) and the assignee."""
    assignee = body.assignee if "assignee" in body.model_fields_set else desk.KEEP
    command = desk.Change(tenant, customer_id, complaint_id, body.status, assignee, body.actor)
    try:
        changed = await desk.change(runtime.db, command, (await policy_of(runtime, tenant)))
    except desk.UnknownComplaint:
        raise _unknown(customer_id, complaint_id) from None
    except IllegalStep as refused:
        raise Problem(409, "illegal-transition", str(refused)) from None
    return views.complaint_answer(changed, runtime.clock.now())


@router.post(f"{ONE}/notes", status_code=201)
async def add_note(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    complaint_id: uuid.UUID,
    body: contract.RecordedNote,
) -> contract.Note:
    """Keep an agent's internal note on the complaint."""
    note = Note(body.author, body.text, runtime.clock.now())
    try:
        note_id = await desk.add_note(runtime.db, tenant, customer_id, complaint_id, note)
    except desk.UnknownComplaint:
        raise _unknown(customer_id, complaint_id) from None
    except TooManyNotes as full:
        raise Problem(409, "too-many-notes", f"{full}; keep the essentials in fewer.") from None
    return contract.Note(note_id=note_id, author=note.author, text=note.text, at=note.at)


@router.post(f"{ONE}/resolution")
async def resolve_complaint(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    complaint_id: uuid.UUID,
    body: RecordedResolution,
) -> Complaint:
    """Resolve an open complaint at the service desk (announced like a partner's
    resolution, ``resolved_by`` "desk"); 404 for an unknown one, 409 once resolved or
    for goodwill over the desk's cap."""
    config = await policy_of(runtime, tenant)
    cap = config.desk.max_goodwill_points
    if body.compensation_points > cap:
        raise Problem(
            409, "goodwill-over-cap",
            f"A desk resolution grants at most {cap} goodwill points, not "
            f"{body.compensation_points}; ask for {cap} or less.",
            errors=[{"field": "body.compensation_points", "message": f"at most {cap}"}],
        )  # fmt: skip
    command = resolutions.ResolveAtDesk(
        tenant, customer_id, complaint_id, body.resolution, body.compensation_points, body.resolver
    )
    try:
        resolved = await resolutions.resolve_at_desk(
            runtime.db, command, config.invitations, runtime.resources.keys
        )
    except KeysUnavailable:
        raise sealing.keys_away() from None
    except resolutions.UnknownComplaint:
        raise _unknown(customer_id, complaint_id) from None
    except resolutions.AlreadyResolved as done:
        when = done.resolved_at.isoformat() if done.resolved_at else "earlier"
        raise Problem(
            409, "complaint-already-resolved",
            f"Complaint {complaint_id} is {done.status} (resolved at {when}); reopen it "
            "first (PATCH with status open) to resolve it again.",
        ) from None  # fmt: skip
    return views.complaint_answer(resolved, runtime.clock.now())


@router.get("/feedback/scores", response_model=Scores)
async def get_scores(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: WindowStart = None,
    end: WindowEnd = None,
    group_by: ScoreGroupBy = None,
    interval: ScoreInterval = None,
) -> Scores | Response:
    """NPS, CSAT and CES of the tenant's answers in [from, to) (default: the last 30
    days), and the recovery of the detractors' cases opened then; a survey nobody
    answered scores null. ``group_by`` and ``interval`` add the scores per group and
    period; every figure has its answer count and 95 % interval. CSV with ``Accept:
    text/csv``."""
    end = end or runtime.clock.now()
    start = start or end - DEFAULT_WINDOW
    if start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    detractor = (await policy_of(runtime, tenant)).detractors
    found = await views.satisfaction(runtime.db.engine, tenant, start, end, detractor)
    answer = Scores.model_validate({"from_": start, "to": end, **found})
    if group_by or interval:
        answer.group_by, answer.interval = group_by, interval
        answer.groups = await _groups(runtime, tenant, (start, end), group_by, interval)
    return sheets.scores(answer) if wants_csv(request) else answer


async def _groups(
    runtime: FeedbackRuntime,
    tenant: str,
    window: tuple[datetime, datetime],
    group_by: satisfaction.GroupBy | None,
    interval: satisfaction.Period | None,
) -> list[ScoreGroup]:
    try:
        cells = await satisfaction.grouped_scores(
            runtime.db.engine, tenant, window, group_by, interval
        )
    except satisfaction.TooManyPeriods as long:
        raise Problem(
            422, "too-many-periods", f"{long}; narrow the window or take a longer interval."
        ) from None
    return [
        ScoreGroup.model_validate({"group": group, "period": period, **cells[(period, group)]})
        for period, group in satisfaction.ordered(cells)
    ]


def _unknown(customer_id: uuid.UUID, complaint_id: uuid.UUID) -> Problem:
    return Problem(
        404, "complaint-not-found",
        f"Customer {customer_id} has no complaint {complaint_id}; list them at "
        f"/v1/customers/{customer_id}/complaints.",
    )  # fmt: skip
