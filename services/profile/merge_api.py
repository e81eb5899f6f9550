"""Merge candidates over HTTP (reached through the gateway, which admits only an
``admin`` key of the tenant): list them, confirm or dismiss one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from services.profile import merges, views
from services.profile.merging import AlreadyDecided, CandidateNotFound, Decision
from shared.contracts.profile import (
    CandidateCursor,
    CandidateLimit,
    CandidatePage,
    CandidateStatus,
    MergeCandidate,
    RecordedDecision,
)
from shared.cursors import decode_keyset
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1/profile/merge-candidates", tags=["profile"])


@router.get("")
async def list_candidates(
    runtime: RuntimeDep,
    tenant: TenantDep,
    status: CandidateStatus | None = None,
    limit: CandidateLimit = 50,
    cursor: CandidateCursor = None,
) -> CandidatePage:
    """Customers that share an e-mail or phone, oldest first (all statuses unless
    ``status`` is given; ``cursor`` from the previous page)."""
    after = decode_keyset(cursor) if cursor else None
    return await views.candidates_page(runtime.db.engine, tenant, status, limit, after)


@router.post("/{candidate_id}/confirm")
async def confirm(
    runtime: RuntimeDep,
    tenant: TenantDep,
    candidate_id: uuid.UUID,
    decision: Annotated[RecordedDecision | None, Body()] = None,
) -> MergeCandidate:
    """Merge the two customers: the newer one's references move to the older one, and
    ``crm.profile.customers_merged.v1`` tells the other services."""
    return await _decide(runtime, tenant, candidate_id, "confirm", decision)


@router.post("/{candidate_id}/dismiss")
async def dismiss(
    runtime: RuntimeDep,
    tenant: TenantDep,
    candidate_id: uuid.UUID,
    decision: Annotated[RecordedDecision | None, Body()] = None,
) -> MergeCandidate:
    """Keep the two customers apart; the pair is not proposed again."""
    return await _decide(runtime, tenant, candidate_id, "dismiss", decision)


async def _decide(
    runtime: RuntimeDep,
    tenant: str,
    candidate_id: uuid.UUID,
    decision: Decision,
    body: RecordedDecision | None,
) -> MergeCandidate:
    body = body or RecordedDecision()
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
    decided = await views.candidate(runtime.db.engine, tenant, candidate_id)
    if decided is None:  # decided a moment ago, so only a vanished row gets here
        raise Problem(404, "merge-candidate-not-found", _missing(candidate_id))
    return decided


def _missing(candidate_id: uuid.UUID) -> str:
    return f"No merge candidate {candidate_id} exists; list them at /v1/profile/merge-candidates."
