"""A service desk resolves a complaint of its tenant, forwarded to feedback (which owns
complaints). Resolving needs ``complaints:resolve``; granting compensation points also
needs ``loyalty:compensate``, so a desk key cannot mint points by itself."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import COMPENSATE, Resolver, UpstreamsDep
from shared.events.activity import ComplaintResolved
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["feedback"])

# The bound of the event a partner would post: one ceiling for both roads.
_CAP = next(
    m.le for m in ComplaintResolved.model_fields["compensation_points"].metadata if hasattr(m, "le")
)


class ComplaintResolution(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    resolution: str = Field(min_length=1, max_length=10_000, examples=["Replacement shipped"])
    compensation_points: int = Field(
        default=0,
        ge=0,
        le=_CAP,
        description="Goodwill points for the trouble; above 0 needs the loyalty:compensate scope",
    )


@router.post("/customers/{customer_id}/complaints/{complaint_id}/resolution")
async def resolve_complaint(
    customer_id: uuid.UUID,
    complaint_id: uuid.UUID,
    body: ComplaintResolution,
    request: Request,
    caller: Resolver,
    upstreams: UpstreamsDep,
) -> Response:
    """Resolve one of the customer's complaints (a service desk, any complaint of the
    tenant); answers the complaint, 404 if unknown, 409 if it is already closed."""
    if body.compensation_points > 0 and COMPENSATE not in caller.scopes:
        raise Problem(
            403,
            "insufficient-scope",
            f"Granting compensation_points needs the '{COMPENSATE}' scope; send 0 or use a "
            "key that holds it.",
        )
    path = f"/v1/customers/{customer_id}/complaints/{complaint_id}/resolution"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)
