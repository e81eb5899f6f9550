"""Customer reads, forwarded to profile (which owns identities and the 360)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway import examples
from services.gateway.auth import Reader, UpstreamsDep, failures
from services.gateway.links import customer_reads, links
from shared.contracts.customers import (
    Customer360,
    CustomerRefFound,
    LookupExternalId,
    LookupSource,
)
from shared.contracts.query import Id
from shared.contracts.records import (
    CustomerSearchPage,
    LookupEmail,
    LookupPhone,
    SearchAttribute,
    SearchCursor,
    SearchLimit,
    SearchStage,
    SearchText,
    SearchTier,
)
from shared.contracts.segments import SearchSegment
from shared.problems import Problem

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "",
    response_model=CustomerSearchPage,
    responses=failures(),
    openapi_extra=links(200, **customer_reads("$response.body#/customers/0/customer_id")),
)
async def search_customers(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    q: SearchText = None,
    stage: SearchStage = None,
    tier: SearchTier = None,
    attribute: SearchAttribute = None,
    segment: SearchSegment = None,
    limit: SearchLimit = 50,
    cursor: SearchCursor = None,
) -> Response:
    """Find customers: ``q`` over the name (a prefix of any word, a substring, or a
    similar name on PostgreSQL), the e-mail and the phone (prefixes); ``stage``,
    ``tier``, ``segment`` (its members) and ``attribute=name=value`` filters (an
    undeclared attribute or a value not of its type is a 422); by customer id,
    ``cursor`` from the previous page."""
    return await upstreams.forward("profile", "/v1/customers", caller.tenant_id, request)


@router.get(
    "/lookup",
    response_model=CustomerRefFound,
    responses=failures(404),
    openapi_extra=links(200, **customer_reads("$response.body#/customer_id")),
)
async def lookup_customer(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    source: LookupSource = None,
    external_id: LookupExternalId = None,
    email: LookupEmail = None,
    phone: LookupPhone = None,
) -> Response:
    """Find a customer by one identity: a partner system's id
    (``?source=pos&external_id=C-1001``), or ``?email=``, or ``?phone=`` (E.164); an
    e-mail or phone several customers share lists them all in ``matches``, oldest
    first. Another mix of parameters is a 422."""
    return await upstreams.forward("profile", "/v1/customers/lookup", caller.tenant_id, request)


@router.api_route("/lookup", methods=["PATCH", "DELETE"], include_in_schema=False)
async def lookup_is_read_only() -> Response:
    """``PATCH`` and ``DELETE /v1/customers/{customer_id}`` would otherwise take ``lookup``
    for an id."""
    raise Problem(
        405,
        "method-not-allowed",
        "/v1/customers/lookup is read with GET.",
        headers={"Allow": "GET"},
    )


@router.get(
    "/{customer_id}",
    response_model=Customer360,
    responses=failures(404) | examples.answer(200, examples.CUSTOMER_360),
)
async def get_customer(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer 360: identity, stage, churn risk, loyalty, feedback, statistics."""
    path = f"/v1/customers/{customer_id}"
    return await upstreams.forward("profile", path, caller.tenant_id, request)
