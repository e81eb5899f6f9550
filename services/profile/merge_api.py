"""Merge candidates over HTTP (reached through the gateway, which admits only an
``admin`` key of the tenant): list them, confirm or dismiss one."""

from __future__ import annotations

import binascii
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from services.profile import merges, views
from services.profile.merging import AlreadyDecided, CandidateNotFound, Decision
from shared.app import RuntimeDep, TenantDep
from shared.problems import Problem

router = APIRouter(prefix="/v1/profile/merge-candidates", tags=["profile"])

Status = Literal["open", "confirmed", "dismissed"]


class MergeCandidate(BaseModel):
    candidate_id: uuid.UUID
    survivor_id: uuid.UUID = Field(description="The older customer, who stays")
    merged_id: uuid.UUID = Field(description="The newer customer, merged into the survivor")
    matched: list[Literal["email", "phone"]]
    status: Status
    found_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    merge_id: uuid.UUID | None = Field(description="The merge a confirmation made, if any")


class CandidatePage(BaseModel):
    candidates: list[MergeCandidate]
    next_cursor: str | None


class MergeDecision(BaseModel):
    """Why the operator decided so (kept with the decision); ``decided_by`` is set by
    the gateway to the deciding API key."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    decided_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


@router.get("")
async def list_candidates(
    runtime: RuntimeDep,
    tenant: TenantDep,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CandidatePage:
    """Customers that share an e-mail or phone, oldest first (all statuses unless
    ``status`` is given; ``cursor`` from the previous page)."""
    try:
        page = await views.candidates_page(runtime.db.engine, tenant, status, limit, cursor)
    except (ValueError, binascii.Error) as error:
        raise Problem(422, "invalid-cursor", "Pass back the next_cursor of a page.") from error
    return CandidatePage.model_validate(page)


@router.post("/{candidate_id}/confirm")
async def confirm(
    runtime: RuntimeDep,
    tenant: TenantDep,
    candidate_id: uuid.UUID,
    decision: Annotated[MergeDecision | None, Body()] = None,
) -> MergeCandidate:
    """Merge the two customers: the newer one's references move to the older one, and
    ``crm.profile.customers_merged.v1`` tells the other services."""
    return await _decide(runtime, tenant, candidate_id, "confirm", decision)


@router.post("/{candidate_id}/dismiss")
async def dismiss(
    runtime: RuntimeDep,
    tenant: TenantDep,
    candidate_id: uuid.UUID,
    decision: Annotated[MergeDecision | None, Body()] = None,
) -> MergeCandidate:
    """Keep the two customers apart; the pair is not proposed again."""
    return await _decide(runtime, tenant, candidate_id, "dismiss", decision)


async def _decide(
    runtime: RuntimeDep,
    tenant: str,
    candidate_id: uuid.UUID,
    decision: Decision,
    body: MergeDecision | None,
) -> MergeCandidate:
    body = body or MergeDecision()
    try:
        await merges.decide(
            runtime.db,
            tenant,
            candidate_id,
            decision,
            decided_by=body.decided_by,
            reason=body.reason,
        )
    except CandidateNotFound as error:
        raise Problem(404, "merge-candidate-not-found", _missing(candidate_id)) from error
    except AlreadyDecided as error:
        raise Problem(
            409,
            "merge-candidate-decided",
            f"Merge candidate {candidate_id} was already {error.status}; a decision is final.",
            status_of_candidate=error.status,
        ) from error
    row = await views.candidate(runtime.db.engine, tenant, candidate_id)
    return MergeCandidate.model_validate(row, from_attributes=True)


def _missing(candidate_id: uuid.UUID) -> str:
    return f"No merge candidate {candidate_id} exists; list them at /v1/profile/merge-candidates."
