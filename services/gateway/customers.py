"""Customer reads, forwarded to profile (which owns identities and the 360)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway.auth import Reader, UpstreamsDep, failures
from services.gateway.links import customer_reads, links
from shared.contracts.customers import (
    Customer360,
    CustomerRefFound,
    LookupExternalId,
    LookupSource,
)
from shared.contracts.query import Id
from shared.contracts.records import LookupEmail, LookupPhone

router = APIRouter(prefix="/v1/customers", tags=["customers"])


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


@router.get("/{customer_id}", response_model=Customer360, responses=failures(404))
async def get_customer(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer 360: identity, stage, churn risk, loyalty, feedback, statistics."""
    path = f"/v1/customers/{customer_id}"
    return await upstreams.forward("profile", path, caller.tenant_id, request)
