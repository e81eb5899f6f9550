"""The service desk's routes, forwarded to feedback (which owns complaints): the queue
across customers, one complaint with its notes, and an agent's changes and notes
(scope ``desk:write``). The gateway writes the calling key into what it forwards
(``actor``, ``author``), so a caller cannot name someone else."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import DeskAgent, Reader, UpstreamsDep, acting_key, failures
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts import desk as contract
from shared.contracts.feedback import Complaint
from shared.contracts.query import Id

router = APIRouter(prefix="/v1", tags=["desk"])
ONE = "/customers/{customer_id}/complaints/{complaint_id}"


_FIRST = {
    "customer_id": "$response.body#/complaints/0/customer_id",
    "complaint_id": "$response.body#/complaints/0/complaint_id",
}


@router.get(
    "/feedback/complaints",
    response_model=contract.DeskPage,
    responses=failures(),
    openapi_extra=links(
        200,
        GetComplaint=link(f"/v1{ONE}", "get", **_FIRST),
        ChangeComplaint=link(f"/v1{ONE}", "patch", **_FIRST),
        AddNote=link(f"/v1{ONE}/notes", "post", **_FIRST),
        ResolveComplaint=link(f"/v1{ONE}/resolution", "post", **_FIRST),
    ),
)
async def get_desk(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    status: contract.DeskStatusFilter = None,
    severity: contract.SeverityFilter = None,
    breached: contract.BreachedFilter = None,
    assignee: contract.AssigneeFilter = None,
    category: contract.CategoryFilter = None,
    limit: contract.DeskLimit = 50,
    cursor: contract.DeskCursor = None,
) -> Response:
    """The desk's queue: the tenant's complaints across customers (recovery cases of
    detractors among them), the soonest due first, filtered; ``breached`` is open past
    its due time."""
    return await upstreams.forward("feedback", "/v1/feedback/complaints", caller.tenant_id, request)


@router.get(ONE, response_model=contract.ComplaintDetail, responses=failures(404))
async def get_complaint(
    customer_id: Id, complaint_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """One complaint with the customer's text, its resolution and the agents' notes."""
    path = f"/v1/customers/{customer_id}/complaints/{complaint_id}"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


@router.patch(ONE, response_model=Complaint, responses=failures(400, 404, 409, 413))
async def change_complaint(
    customer_id: Id,
    complaint_id: Id,
    body: contract.DeskChange,
    request: Request,
    caller: DeskAgent,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Move a complaint along open → in_progress → waiting_on_customer → (resolution) →
    closed, or reopen a resolved one (``open``), and assign it; 409 names the states
    when the step is not allowed."""
    recorded = contract.RecordedChange(
        **body.model_dump(exclude_unset=True), actor=acting_key(caller)
    )
    path = f"/v1/customers/{customer_id}/complaints/{complaint_id}"
    forwarded = with_body(request, recorded.model_dump_json(exclude_unset=True).encode())
    asked = body.model_dump(exclude_unset=True) | {"customer_id": customer_id}
    decision = audit.Decision("complaint.changed", f"complaint:{complaint_id}", after=asked)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("feedback", path, caller.tenant_id, forwarded),
    )


@router.post(
    f"{ONE}/notes",
    status_code=201,
    response_model=contract.Note,
    responses=failures(400, 404, 409, 413),
)
async def add_note(
    customer_id: Id,
    complaint_id: Id,
    body: contract.NoteRequest,
    request: Request,
    caller: DeskAgent,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Leave an internal note on a complaint (never shown to the customer); 409 once it
    holds 200."""
    recorded = contract.RecordedNote(text=body.text, author=acting_key(caller))
    path = f"/v1/customers/{customer_id}/complaints/{complaint_id}/notes"
    forwarded = with_body(request, recorded.model_dump_json().encode())
    decision = audit.Decision("complaint.noted", f"complaint:{complaint_id}")
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("feedback", path, caller.tenant_id, forwarded),
    )
