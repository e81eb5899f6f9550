"""Segments over HTTP (reached through the gateway, which authenticates): define,
change and delete a segment, preview a rule, read a segment's size and members, explain
a member, and a customer's segments."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from services.profile import segment_defs, segment_views
from services.profile.segment_rules import Clause, RuleError
from shared.contracts.query import Id
from shared.contracts.segments import (
    ClauseResult,
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
)
from shared.cursors import decode_id
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(tags=["segments"])


async def _checked(runtime: RuntimeDep, tenant: str, rule: Any) -> Clause:
    try:
        return await segment_defs.checked_rule(runtime.db, tenant, rule)
    except RuleError as error:
        raise Problem(
            422,
            "validation-failed",
            f"Fix the segment rule at {error.path}: {error.message}.",
            errors=[{"field": f"body.{error.path}", "message": error.message}],
        ) from error


def _missing(segment_id: uuid.UUID) -> Problem:
    return Problem(404, "segment-not-found", f"No segment {segment_id} exists.")


async def _save(
    runtime: RuntimeDep, tenant: str, segment_id: uuid.UUID, body: SegmentDefinition
) -> Segment:
    await _checked(runtime, tenant, body.rule)
    wanted = segment_defs.Definition(body.name, body.description, body.rule)
    try:
        await segment_defs.save(runtime.db, runtime.clock, tenant, segment_id, wanted)
    except segment_defs.NameTaken as error:
        raise Problem(
            409, "segment-name-taken", "Another segment has this name: choose another."
        ) from error
    saved = await segment_views.one(runtime.db.engine, tenant, segment_id)
    assert saved is not None
    return saved


@router.get("/v1/segments")
async def list_segments(runtime: RuntimeDep, tenant: TenantDep) -> SegmentList:
    """The tenant's segments by name, each with its size."""
    return SegmentList(segments=await segment_views.segments(runtime.db.engine, tenant))


@router.post("/v1/segments", status_code=201)
async def create_segment(
    runtime: RuntimeDep, tenant: TenantDep, body: SegmentDefinition
) -> Segment:
    """Define a segment; its members are evaluated shortly (by the segment sweep)."""
    return await _save(runtime, tenant, uuid.uuid4(), body)


@router.post("/v1/segments/preview")
async def preview_segment(
    runtime: RuntimeDep, tenant: TenantDep, body: RuleRequest
) -> SegmentPreview:
    """How many customers a rule holds for now, before saving it."""
    rule = await _checked(runtime, tenant, body.rule)
    now = runtime.clock.now()
    size, evaluated, complete = await segment_defs.preview(runtime.db, tenant, rule, now)
    return SegmentPreview(size=size, evaluated=evaluated, complete=complete, as_of=now)


@router.get("/v1/segments/{segment_id}")
async def get_segment(runtime: RuntimeDep, tenant: TenantDep, segment_id: Id) -> Segment:
    """The segment's definition and size."""
    found = await segment_views.one(runtime.db.engine, tenant, segment_id)
    if found is None:
        raise _missing(segment_id)
    return found


@router.put("/v1/segments/{segment_id}")
async def put_segment(
    runtime: RuntimeDep, tenant: TenantDep, segment_id: Id, body: SegmentDefinition
) -> Segment:
    """Change the segment's name, description or rule; membership follows the new rule."""
    if await segment_views.one(runtime.db.engine, tenant, segment_id) is None:
        raise _missing(segment_id)
    return await _save(runtime, tenant, segment_id, body)


@router.delete("/v1/segments/{segment_id}", status_code=204)
async def delete_segment(runtime: RuntimeDep, tenant: TenantDep, segment_id: Id) -> Response:
    """Delete the segment; its members leave it (``segment_exited``, ``segment_deleted``)."""
    if not await segment_defs.remove(runtime.db, runtime.clock, tenant, segment_id):
        raise _missing(segment_id)
    return Response(status_code=204)


@router.get("/v1/segments/{segment_id}/members")
async def segment_members(
    runtime: RuntimeDep,
    tenant: TenantDep,
    segment_id: Id,
    limit: MemberLimit = 100,
    cursor: MemberCursor = None,
) -> SegmentMemberPage:
    """The segment's members by customer id (``cursor`` from the previous page)."""
    if await segment_views.one(runtime.db.engine, tenant, segment_id) is None:
        raise _missing(segment_id)
    after = decode_id(cursor) if cursor else None
    return await segment_views.members(runtime.db.engine, tenant, segment_id, limit, after)


@router.get("/v1/segments/{segment_id}/members/{customer_id}")
async def explain_member(
    runtime: RuntimeDep, tenant: TenantDep, segment_id: Id, customer_id: Id
) -> SegmentExplanation:
    """Whether the customer is in the segment, and which of its rule's clauses hold."""
    now = runtime.clock.now()
    found = await segment_defs.explained(runtime.db, tenant, segment_id, customer_id, now)
    if found is None:
        raise _missing(segment_id)
    member, holds, clauses = found
    return SegmentExplanation(
        segment_id=segment_id,
        customer_id=customer_id,
        member=member,
        holds=holds,
        clauses=[ClauseResult(path=p, held=h) for p, h in clauses],
    )


@router.get("/v1/customers/{customer_id}/segments")
async def customer_segments(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: Id
) -> CustomerSegments:
    """The segments the customer is in now."""
    found = await segment_views.of_customer(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise Problem(404, "customer-not-found", f"No customer {customer_id} exists.")
    return found
