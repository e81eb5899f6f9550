"""Merges of two customers, forwarded to profile (which decides and records them);
``admin`` only. The gateway writes the acting API key into the forwarded body, so a
merge and its undo are recorded with who did them and a caller cannot name someone else;
each applied one is also in the audit log once (``customers.merged``/``unmerged``, on the
merged customer), with ids only: the identities it moved are personal data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import Admin, UpstreamsDep, acting_key, failures
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts.profile import (
    MergeRecord,
    MergeRequest,
    RecordedMergeRequest,
    RecordedUndo,
    UndoRequest,
)
from shared.contracts.query import Id
from shared.problems import Problem

router = APIRouter(prefix="/v1/customers/merges", tags=["admin"])
_MERGE_ID = "$response.body#/merge_id"


@router.post(
    "",
    status_code=201,
    response_model=MergeRecord,
    responses=failures(400, 404, 409, 413),
    openapi_extra=links(
        201,
        Read=link(f"{router.prefix}/{{merge_id}}", "get", merge_id=_MERGE_ID),
        Undo=link(f"{router.prefix}/{{merge_id}}/undo", "post", merge_id=_MERGE_ID),
    ),
)
async def merge_customers(
    body: MergeRequest,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Merge ``merged_id`` into ``survivor_id`` (the operator picks the survivor): its
    identities move to the survivor and every service moves its facts there. ``404``
    for an unknown customer, ``409`` for one merged already, ``422`` for the same one
    twice."""
    recorded = RecordedMergeRequest(**body.model_dump(), decided_by=acting_key(caller))
    forwarded = with_body(request, recorded.model_dump_json().encode())
    asked = audit.Decision("customers.merged", f"customer:{body.merged_id}")
    async with audit.asking(runtime.db, caller, asked) as ask:
        answer = await upstreams.forward("profile", router.prefix, caller.tenant_id, forwarded)
        return await _audited(ask, answer, "customers.merged", None)


@router.api_route("", methods=["GET", "PATCH", "DELETE"], include_in_schema=False)
async def merges_are_posted() -> Response:
    """``GET``, ``PATCH`` and ``DELETE /v1/customers/{customer_id}`` would otherwise take
    ``merges`` for an id (a 422 about its form, where the method is what is wrong)."""
    raise Problem(
        405,
        "method-not-allowed",
        "/v1/customers/merges takes a POST; read one merge at /v1/customers/merges/{merge_id}.",
        headers={"Allow": "POST"},
    )


@router.get("/{merge_id}", response_model=MergeRecord, responses=failures(404))
async def read_merge(
    merge_id: Id, request: Request, caller: Admin, upstreams: UpstreamsDep
) -> Response:
    """A merge as recorded: who, when, why and what moved; and its undo, if any."""
    path = f"{router.prefix}/{merge_id}"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.post("/{merge_id}/undo", response_model=MergeRecord, responses=failures(400, 404, 409, 413))
async def undo_merge(
    merge_id: Id,
    body: UndoRequest,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Take the merge apart: each customer gets back what it had, and what arrived for
    it meanwhile. ``409`` when it was undone already, or when the survivor has been
    merged into another customer since (undo that merge first)."""
    recorded = RecordedUndo(reason=body.reason, undone_by=acting_key(caller))
    path = f"{router.prefix}/{merge_id}/undo"
    forwarded = with_body(request, recorded.model_dump_json().encode())
    asked = audit.Decision("customers.unmerged", f"merge:{merge_id}")
    async with audit.asking(runtime.db, caller, asked) as ask:
        answer = await upstreams.forward("profile", path, caller.tenant_id, forwarded)
        return await _audited(ask, answer, "customers.unmerged", {"undone": False})


async def _audited(ask: audit.Asking, answer: Response, action: str, before: Any) -> Response:
    """Record the merge or undo profile applied (a 2xx), once per merge and action."""
    if answer.status_code not in audit.ANSWERED:
        return answer  # refused: nothing decided (leaving ``asking`` drops the note)
    merge = MergeRecord.model_validate_json(bytes(answer.body))
    after = {
        "merge_id": merge.merge_id,
        "survivor_id": merge.survivor_id,
        "merged_id": merge.merged_id,
        "undone": merge.undo is not None,
    }
    target, dedupe = f"customer:{merge.merged_id}", str(merge.merge_id)
    decision = audit.Decision(action, target, before=before, after=after, dedupe=dedupe)
    return await ask.recorded(answer, decision)
