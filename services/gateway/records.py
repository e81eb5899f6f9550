"""A customer's record, forwarded to profile (which owns it): the tenant's attribute
schema and identity guardrails and a customer's partner references (``admin``),
editing a record under ``If-Match`` and recording consent (``customers:write``),
identities and consent history (``customers:read``).

Consent recorded by API keeps the recording API key: the gateway, which knows the
caller, writes ``recorded_by`` into the forwarded body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from services.gateway import audit
from services.gateway.auth import Admin, Editor, Reader, UpstreamsDep, failures
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts.query import Id
from shared.contracts.records import (
    AttributeSchema,
    ConsentCursor,
    ConsentEntry,
    ConsentLimit,
    ConsentPage,
    ConsentRequest,
    CustomerPatch,
    CustomerRecord,
    ExportFormat,
    IdentityGuardrails,
    IdentityList,
    IfMatch,
    NewReference,
    RecordedConsent,
    ReferenceExternalId,
    ReferenceSource,
)

router = APIRouter(tags=["customers"])
CUSTOMER = "/v1/customers/{customer_id}"
ETAG = {"ETag": {"description": "The record's version, for If-Match", "schema": {"type": "string"}}}
PATCHED: dict[int | str, dict[str, Any]] = {
    **failures(404, 412, 413),
    200: {"headers": ETAG, "description": "The record as patched"},
}


@router.get(
    "/v1/profile/attributes", response_model=AttributeSchema, responses=failures(), tags=["admin"]
)
async def get_attributes(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """The custom attributes the tenant declares, by name."""
    return await upstreams.forward("profile", "/v1/profile/attributes", caller.tenant_id, request)


@router.put(
    "/v1/profile/attributes",
    response_model=AttributeSchema,
    responses=failures(409, 413),
    tags=["admin"],
)
async def put_attributes(
    schema: AttributeSchema,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Declare exactly these attributes (a name left out is hidden; a name keeps its
    type for good: another type is 409)."""
    path = "/v1/profile/attributes"
    decision = audit.Decision("attributes.declared", "attributes", after=schema)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("profile", path, caller.tenant_id, request),
    )


@router.patch(CUSTOMER, response_model=CustomerRecord, responses=PATCHED)
async def patch_customer(
    customer_id: Id,
    patch: Annotated[CustomerPatch, Body()],
    request: Request,
    caller: Editor,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    if_match: IfMatch = None,
) -> Response:
    """Change the record by a JSON merge patch (``null`` removes; ``attributes`` must be
    declared and of their type, else 422 naming them); with ``If-Match`` (the ETag
    read), a record changed meanwhile answers 412."""
    path = f"/v1/customers/{customer_id}"
    # Which fields changed, never their values: the log keeps no personal data.
    changed = sorted(patch.model_dump(exclude_unset=True))
    decision = audit.Decision("customer.edited", f"customer:{customer_id}", after=changed)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("profile", path, caller.tenant_id, request),
    )


@router.get(f"{CUSTOMER}/identities", response_model=IdentityList, responses=failures(404))
async def get_identities(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """What names the customer: partners' references, its e-mail and phone, each with
    its source and when it was first and last seen."""
    path = f"/v1/customers/{customer_id}/identities"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.get(f"{CUSTOMER}/consent", response_model=ConsentPage, responses=failures(404))
async def get_consent(
    customer_id: Id,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: ConsentLimit = 50,
    cursor: ConsentCursor = None,
) -> Response:
    """The customer's current consent per channel and purpose (none: not granted) and
    every decision, newest first (``cursor`` from the previous page)."""
    path = f"/v1/customers/{customer_id}/consent"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.post(
    f"{CUSTOMER}/consent",
    response_model=ConsentEntry,
    status_code=201,
    responses=failures(404, 413),
)
async def post_consent(
    customer_id: Id,
    decision: ConsentRequest,
    request: Request,
    caller: Editor,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Record a decision the customer took (``at``: when, default now, at most five
    minutes ahead); the latest by its time is the current state."""
    recorded = RecordedConsent(**decision.model_dump(), recorded_by=f"api-key:{caller.key_id}")
    forwarded = with_body(request, recorded.model_dump_json().encode())
    path = f"/v1/customers/{customer_id}/consent"
    asked = decision.model_dump(include={"channel", "purpose", "granted", "at"})
    entry = audit.Decision("consent.recorded", f"customer:{customer_id}", after=asked)
    return await audit.forwarded(
        runtime.db,
        caller,
        entry,
        lambda: upstreams.forward("profile", path, caller.tenant_id, forwarded),
    )


@router.get(
    "/v1/profile/identity-guardrails",
    response_model=IdentityGuardrails,
    responses=failures(),
    tags=["admin"],
)
async def get_identity_guardrails(
    request: Request, caller: Admin, upstreams: UpstreamsDep
) -> Response:
    """The tenant's rules for automatic linking: blocked e-mails and phones, the most
    partner references per customer, and what a match across sources does."""
    path = "/v1/profile/identity-guardrails"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.put(
    "/v1/profile/identity-guardrails",
    response_model=IdentityGuardrails,
    responses=failures(413),
    tags=["admin"],
)
async def put_identity_guardrails(
    rails: IdentityGuardrails,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Set the tenant's rules for automatic linking (for events from now on)."""
    path = "/v1/profile/identity-guardrails"
    decision = audit.Decision("guardrails.set", "identity_guardrails", after=rails)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("profile", path, caller.tenant_id, request),
    )


@router.post(
    f"{CUSTOMER}/identities",
    response_model=IdentityList,
    status_code=201,
    responses=failures(404, 409, 413),
    tags=["admin"],
)
async def add_identity(
    customer_id: Id,
    reference: NewReference,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Give the customer one more partner reference (409 if another customer holds it,
    or the customer has the tenant's most)."""
    path = f"/v1/customers/{customer_id}/identities"
    decision = audit.Decision("identity.added", f"customer:{customer_id}", after=reference)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("profile", path, caller.tenant_id, request),
    )


@router.delete(f"{CUSTOMER}/identities", status_code=204, responses=failures(404), tags=["admin"])
async def remove_identity(
    customer_id: Id,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    source: ReferenceSource,
    external_id: ReferenceExternalId,
) -> Response:
    """Take a partner reference from the customer: that partner's next event about it
    makes a new customer."""
    path = f"/v1/customers/{customer_id}/identities"
    removed = {"source": source, "external_id": external_id}
    decision = audit.Decision("identity.removed", f"customer:{customer_id}", before=removed)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("profile", path, caller.tenant_id, request),
    )


@router.get(
    "/v1/profile/export",
    response_class=Response,
    responses={
        **failures(),
        200: {
            "description": "Every live customer, streamed",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
    },
    tags=["admin"],
)
async def export_customers(
    request: Request, caller: Admin, upstreams: UpstreamsDep, format: ExportFormat = "ndjson"
) -> Response:
    """Every customer of the tenant (merged ones left out), streamed: NDJSON (one object
    a line: customer_id, name, email, phone, stage, tier, created_at, attributes) or CSV
    with a header (the declared attributes as columns, a list as JSON text)."""
    return await upstreams.stream("profile", "/v1/profile/export", caller.tenant_id, request)
