"""Merge candidates, forwarded to profile (which decides merges); ``admin`` only.

A decision is recorded with the API key that took it: the gateway, which knows the
caller, writes ``decided_by`` into the forwarded body, so a caller cannot name
someone else."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from services.gateway import audit
from services.gateway.auth import Admin, UpstreamsDep, failures
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts.profile import (
    CandidateCursor,
    CandidateLimit,
    CandidatePage,
    CandidateStatus,
    MergeCandidate,
    MergeDecision,
    RecordedDecision,
)
from shared.contracts.query import Id

router = APIRouter(prefix="/v1/profile/merge-candidates", tags=["admin"])
DECISION_FAILURES = failures(400, 404, 409, 413)


_FIRST = "$response.body#/candidates/0/candidate_id"


@router.get(
    "",
    response_model=CandidatePage,
    responses=failures(),
    openapi_extra=links(
        200,
        Confirm=link(f"{router.prefix}/{{candidate_id}}/confirm", "post", candidate_id=_FIRST),
        Dismiss=link(f"{router.prefix}/{{candidate_id}}/dismiss", "post", candidate_id=_FIRST),
    ),
)
async def list_merge_candidates(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    status: CandidateStatus | None = None,
    limit: CandidateLimit = 50,
    cursor: CandidateCursor = None,
) -> Response:
    """Customers that share an e-mail or phone, for an operator to merge or keep apart,
    oldest first (``status`` filters; ``cursor`` from the previous page)."""
    path = "/v1/profile/merge-candidates"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.post("/{candidate_id}/confirm", response_model=MergeCandidate, responses=DECISION_FAILURES)
async def confirm_merge_candidate(
    candidate_id: Id,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    decision: Annotated[MergeDecision | None, Body()] = None,
) -> Response:
    """Merge the two customers into the older one (``409`` if it was dismissed)."""
    path = f"/v1/profile/merge-candidates/{candidate_id}/confirm"
    forwarded = _with_decider(request, caller.key_id, decision)
    return await audit.forwarded(
        runtime.db,
        caller,
        _decided("confirmed", candidate_id),
        lambda: upstreams.forward("profile", path, caller.tenant_id, forwarded),
    )


@router.post("/{candidate_id}/dismiss", response_model=MergeCandidate, responses=DECISION_FAILURES)
async def dismiss_merge_candidate(
    candidate_id: Id,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    decision: Annotated[MergeDecision | None, Body()] = None,
) -> Response:
    """Keep the two customers apart for good (``409`` if it was confirmed)."""
    path = f"/v1/profile/merge-candidates/{candidate_id}/dismiss"
    forwarded = _with_decider(request, caller.key_id, decision)
    return await audit.forwarded(
        runtime.db,
        caller,
        _decided("dismissed", candidate_id),
        lambda: upstreams.forward("profile", path, caller.tenant_id, forwarded),
    )


def _decided(outcome: str, candidate_id: uuid.UUID) -> audit.Decision:
    """A merge decision, once per candidate (repeating it answers it again, unchanged)."""
    return audit.Decision(
        f"merge.{outcome}",
        f"merge_candidate:{candidate_id}",
        after=audit.ANSWER,
        dedupe=str(candidate_id),
    )


def _with_decider(request: Request, key_id: uuid.UUID, decision: MergeDecision | None) -> Request:
    """The request with a JSON body of the caller's reason and its API key as decider."""
    recorded = RecordedDecision(
        reason=decision.reason if decision else None, decided_by=f"api-key:{key_id}"
    )
    return with_body(request, recorded.model_dump_json().encode())
