"""Segments, forwarded to profile (which keeps them with the 360): an analyst defines,
previews, changes and deletes a segment (``customers:write``); its size, members, a
member's explanation and a customer's segments are reads (``customers:read``); the
segment sweep is the tenant admin's (``admin``). Each change and each sweep is audited."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import (
    Admin,
    Editor,
    Reader,
    UpstreamsDep,
    failures,
    refuse_all_tenants_unless_operator,
)
from services.gateway.keys import Principal
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import Upstreams
from shared.contracts.query import Id
from shared.contracts.segments import (
    CustomerSegments,
    MemberCursor,
    MemberLimit,
    RuleRequest,
    Segment,
    SegmentDefinition,
    SegmentExplanation,
    SegmentList,
    SegmentMemberPage,
    SegmentPreview,
    SegmentSweep,
)
from shared.contracts.sweeps import AllTenants
from shared.problems import Problem

router = APIRouter(tags=["segments"])
SEGMENT = "/v1/segments/{segment_id}"


async def _to_profile(request: Request, caller: Principal, upstreams: Upstreams) -> Response:
    """Profile's answer to the same path, for the caller's tenant."""
    return await upstreams.forward("profile", request.url.path, caller.tenant_id, request)


@router.get("/v1/segments", response_model=SegmentList, responses=failures())
async def list_segments(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """The tenant's segments by name, each with its size (members now)."""
    return await _to_profile(request, caller, upstreams)


@router.post("/v1/segments", response_model=Segment, status_code=201, responses=failures(409, 413))
async def create_segment(
    body: SegmentDefinition,
    request: Request,
    caller: Editor,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Define a segment by a rule (a fault is a 422 naming the clause, a name another
    segment has a 409); its members are evaluated within seconds, then kept current
    as events arrive and as its windows move."""
    asked = audit.Decision("segment.created", "segments", after={"name": body.name})
    async with audit.asking(runtime.db, caller, asked) as ask:
        answer = await _to_profile(request, caller, upstreams)
        if answer.status_code not in audit.ANSWERED:
            return answer
        return await ask.recorded(answer, _defined("segment.created", answer))


def _defined(action: str, answer: Response) -> audit.Decision:
    """The segment as profile now keeps it: its name, rule and version."""
    segment = json.loads(bytes(answer.body))
    after: dict[str, Any] = {k: segment[k] for k in ("name", "rule", "version")}
    before = {"version": segment["version"] - 1} if action == "segment.changed" else None
    return audit.Decision(action, f"segment:{segment['segment_id']}", before=before, after=after)


@router.post("/v1/segments/preview", response_model=SegmentPreview, responses=failures(413))
async def preview_segment(
    body: RuleRequest, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """How many customers a rule holds for now, before saving it (at most 100,000
    evaluated: ``complete`` says whether that was every customer)."""
    return await _to_profile(request, caller, upstreams)


@router.api_route("/v1/segments/preview", methods=["GET", "PUT", "DELETE"], include_in_schema=False)
@router.api_route("/v1/segments/sweep", methods=["GET", "PUT", "DELETE"], include_in_schema=False)
async def posted_only(request: Request) -> Response:
    """``/v1/segments/{segment_id}`` would otherwise take ``preview`` or ``sweep`` for an id."""
    raise Problem(
        405,
        "method-not-allowed",
        f"{request.url.path} is used with POST.",
        headers={"Allow": "POST"},
    )


@router.get(SEGMENT, response_model=Segment, responses=failures(404))
async def get_segment(
    segment_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The segment's definition and its size."""
    return await _to_profile(request, caller, upstreams)


@router.put(SEGMENT, response_model=Segment, responses=failures(404, 409, 413))
async def put_segment(
    segment_id: Id,
    body: SegmentDefinition,
    request: Request,
    caller: Editor,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Change the segment's name, description or rule; membership follows the new rule
    (who no longer matches exits, who now matches enters)."""
    asked = audit.Decision("segment.changed", f"segment:{segment_id}", after={"name": body.name})
    async with audit.asking(runtime.db, caller, asked) as ask:
        answer = await _to_profile(request, caller, upstreams)
        if answer.status_code not in audit.ANSWERED:
            return answer
        return await ask.recorded(answer, _defined("segment.changed", answer))


@router.delete(SEGMENT, status_code=204, responses=failures(404))
async def delete_segment(
    segment_id: Id,
    request: Request,
    caller: Editor,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Delete the segment; each member exits it (``segment_exited``, ``segment_deleted``)."""
    decision = audit.Decision("segment.deleted", f"segment:{segment_id}")
    return await audit.forwarded(
        runtime.db, caller, decision, lambda: _to_profile(request, caller, upstreams)
    )


@router.get(f"{SEGMENT}/members", response_model=SegmentMemberPage, responses=failures(404))
async def segment_members(
    segment_id: Id,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: MemberLimit = 100,
    cursor: MemberCursor = None,
) -> Response:
    """The segment's members by customer id, a page at a time (``cursor`` from the
    previous page)."""
    return await _to_profile(request, caller, upstreams)


@router.get(
    f"{SEGMENT}/members/{{customer_id}}", response_model=SegmentExplanation, responses=failures(404)
)
async def explain_member(
    segment_id: Id, customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """Whether the customer is in the segment, and which clauses of its rule hold now."""
    return await _to_profile(request, caller, upstreams)


@router.get(
    "/v1/customers/{customer_id}/segments",
    response_model=CustomerSegments,
    responses=failures(404),
    tags=["customers"],
)
async def customer_segments(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The segments the customer is in now, with when it entered each."""
    return await _to_profile(request, caller, upstreams)


@router.post(
    "/v1/segments/sweep", response_model=SegmentSweep, responses=failures(), tags=["admin"]
)
async def sweep_segments(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    all_tenants: AllTenants = False,
) -> Response:
    """Evaluate now the caller's tenant's segment memberships that are due (window
    edges passed, segments saved); every tenant's with ``?all_tenants=true``, operator
    only."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    decision = audit.swept("segments", all_tenants)
    return await audit.forwarded(
        runtime.db, caller, decision, lambda: _to_profile(request, caller, upstreams)
    )
