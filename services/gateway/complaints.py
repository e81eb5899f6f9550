"""A service desk resolves a complaint of its tenant, forwarded to feedback (which owns
complaints). Resolving needs ``complaints:resolve``; granting compensation points also
needs ``loyalty:compensate``, so a resolving key cannot mint points by itself. An
agent's key (``desk:write``) does both, within the desk's goodwill cap (feedback's
``[desk]``) and loyalty's caps, each grant recorded in the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.gateway import audit, keys
from services.gateway.auth import COMPENSATE, UpstreamsDep, acting_key, failures, require
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts.feedback import Complaint, RecordedResolution, ResolutionRequest
from shared.contracts.query import Id
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["feedback"])
RESOLVE, DESK = "complaints:resolve", "desk:write"
AnyKey = Annotated[keys.Principal, Depends(require())]


@router.post(
    "/customers/{customer_id}/complaints/{complaint_id}/resolution",
    response_model=Complaint,
    responses=failures(400, 404, 409, 413),
)
async def resolve_complaint(
    customer_id: Id,
    complaint_id: Id,
    body: ResolutionRequest,
    request: Request,
    caller: AnyKey,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Resolve one of the customer's complaints (a service desk, any complaint of the
    tenant); answers the complaint, 404 if unknown, 409 if it is already closed."""
    if not {RESOLVE, DESK} & caller.scopes:
        raise Problem(
            403, "insufficient-scope", f"This API key lacks the '{RESOLVE}' scope (or '{DESK}')."
        )
    if body.compensation_points > 0 and not {COMPENSATE, DESK} & caller.scopes:
        raise Problem(
            403,
            "insufficient-scope",
            f"Granting compensation_points needs the '{COMPENSATE}' scope; send 0 or use a "
            "key that holds it.",
        )
    recorded = RecordedResolution(**body.model_dump(), resolver=acting_key(caller))
    forwarded = with_body(request, recorded.model_dump_json().encode())
    path = f"/v1/customers/{customer_id}/complaints/{complaint_id}/resolution"
    asked = {"customer_id": customer_id, "compensation_points": body.compensation_points}
    decision = audit.Decision(
        "complaint.resolved",
        f"complaint:{complaint_id}",
        after={"status": "resolved"},
        extra={"asked": asked},
    )
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("feedback", path, caller.tenant_id, forwarded),
    )
