"""Who is calling: API-key authentication, signatures of signed keys, the scope each route
requires, and what a key may post.

Authentication is one dependency for every route, so a rule about keys (a
signed key signs every write, an expired key is refused, a guesser is slowed
down) holds everywhere at once rather than route by route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway import erased, ingestion, keys, signing
from services.gateway.ratelimit import retry_after
from services.gateway.runtime import GatewayRuntime, RuntimeDep
from services.gateway.upstream import Upstreams
from shared.auth import ADMIN_HOLDS
from shared.contracts.errors import problem_responses
from shared.events import CloudEvent
from shared.events.activity import ACTIVITIES, REVISED
from shared.events.registry import inbound_type
from shared.problems import Problem

COMPENSATE = "loyalty:compensate"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crm"'}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PRESENTED = re.compile(r"^[\x21-\x7e]{1,200}$")
_PARTNER_TYPES = {
    **{inbound_type(name): name for name in ACTIVITIES},
    **{inbound_type(name, version): name for name, (version, _) in REVISED.items()},
}
# The document's security scheme: every authenticated route requires it, so /docs can
# authorise. The dependency reads the header itself (``_identified``): a missing or
# malformed one is our own problem+json 401, never FastAPI's.
BEARER = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="API key",
    description="Authorization: Bearer <api key>; keys carry scopes (403 without the route's)",
    auto_error=False,
)
Presented = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
# What any authenticated route can answer besides its own: no or a bad key (401), a missing
# scope (403), a bad parameter or header (422), a limit reached (429), a database or
# service that does not answer (503).
AUTHENTICATED_FAILURES = (401, 403, 422, 429, 503)


def failures(*more: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses of an authenticated route that can also answer ``more``."""
    return problem_responses(*sorted({*AUTHENTICATED_FAILURES, *more}))


def require(*scopes: str) -> Callable[..., Awaitable[keys.Principal]]:
    """A dependency that admits only a valid key holding every one of ``scopes`` (an
    ``admin`` key holds ``ADMIN_HOLDS`` too)."""

    async def principal(request: Request, runtime: RuntimeDep, _: Presented) -> keys.Principal:
        found = await authenticated(request, runtime)
        held = found.scopes | (ADMIN_HOLDS if "admin" in found.scopes else frozenset())
        for scope in scopes:
            if scope not in held:
                raise Problem(403, "insufficient-scope", f"This API key lacks the '{scope}' scope.")
        wait = runtime.resources.rate_limiter.acquire(found.key_id)
        if wait:
            raise Problem(
                429,
                "rate-limited",
                "This API key sends too many requests; slow down and retry after the delay.",
                headers={"Retry-After": retry_after(wait)},
            )
        customer = request.path_params.get("customer_id")
        if customer is not None:  # whichever service would answer: it is erasing them
            await erased.refuse_if_erased(runtime.db, found.tenant_id, customer)
        return found

    return principal


async def authenticated(request: Request, runtime: GatewayRuntime) -> keys.Principal:
    """The caller's key, its signature checked when it signs its writes; every failure is
    counted against the client's address, which is refused for a while past its allowance."""
    address = request.client.host if request.client else "unknown"
    failures = runtime.resources.auth_failures
    wait = failures.wait(address)
    if wait:
        raise Problem(
            429,
            "too-many-failed-authentications",
            "Too many requests from this address failed to authenticate; check the API key "
            "and retry after the delay.",
            headers={"Retry-After": retry_after(wait)},
        )
    try:
        found = await _identified(request, runtime)
    except Problem as refused:
        if refused.status == 401:
            failures.acquire(address)
        raise
    await runtime.resources.key_usage.used(runtime.db, found.key_id, runtime.clock.now())
    return found


async def _identified(request: Request, runtime: GatewayRuntime) -> keys.Principal:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Problem(
            401, "missing-api-key", "Send 'Authorization: Bearer <api key>'.", headers=CHALLENGE
        )
    if not _PRESENTED.match(presented):
        raise Problem(
            401, "invalid-api-key", "The API key is unknown or revoked.", headers=CHALLENGE
        )
    try:
        found = await keys.authenticate(runtime.db.engine, presented, runtime.clock.now())
    except keys.KeyRefused as refused:
        raise Problem(401, "invalid-api-key", str(refused), headers=CHALLENGE) from refused
    if found.signed and request.method in WRITES:
        await _check_signature(request, runtime, found)
    return found


async def _check_signature(
    request: Request, runtime: GatewayRuntime, caller: keys.Principal
) -> None:
    """A signed key's write must carry a fresh HMAC of its body (read once, here, within
    the size limit, and kept for the route)."""
    settings = runtime.settings
    body = await read_body(request, settings.max_body_bytes)
    master = settings.signing_master_key
    try:
        if master is None:
            raise signing.BadSignature("Signed keys cannot be verified: the master key is unset.")
        secret = signing.signing_secret(master.get_secret_value(), caller.key_id, caller.generation)
        signing.verify(secret, request.headers, body, runtime.clock.now())
    except signing.BadSignature as refused:
        raise Problem(401, "invalid-signature", str(refused), headers=CHALLENGE) from refused


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, read at most once and never past ``limit`` bytes (413)."""
    too_large = Problem(413, "body-too-large", f"The body exceeds {limit} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    # Starlette serves a body it has read from ``_body``; the route reads it from there.
    request._body = bytes(body)
    return request._body


@dataclass
@dataclass
class EventRefused(ingestion.InvalidEvent):
    """The key may not post this event: a 403, or that item's rejection in a batch."""

    status: int = 403


def authorize_event(caller: keys.Principal, event: CloudEvent) -> None:
    """Raise ``EventRefused`` unless the key may post ``event``: for one of its sources
    (any, for the operator), of a type it is allowed, and compensation only with the
    ``loyalty:compensate`` scope."""
    data: dict[str, Any] = event.data
    source = data["customer"]["source"]
    partner_type = _PARTNER_TYPES.get(event.type, event.type)
    if not caller.operator and source not in caller.sources:
        allowed = ", ".join(sorted(caller.sources)) or "none"
        raise EventRefused(
            "source-not-allowed",
            f"This API key may not post for source '{source}' (its sources: {allowed}).",
        )
    if caller.event_types is not None and partner_type not in caller.event_types:
        allowed = ", ".join(sorted(caller.event_types)) or "none"
        raise EventRefused(
            "event-type-not-allowed",
            f"This API key may not post '{partner_type}' events (its types: {allowed}).",
        )
    points = data["activity"].get("compensation_points", 0)
    if partner_type == "complaint.resolved" and points > 0 and COMPENSATE not in caller.scopes:
        raise EventRefused(
            "insufficient-scope",
            "Granting compensation_points needs the 'loyalty:compensate' scope; "
            "send 0 or use a key that holds it.",
        )


def _upstreams(runtime: RuntimeDep) -> Upstreams:
    return runtime.resources.upstreams


UpstreamsDep = Annotated[Upstreams, Depends(_upstreams)]
Writer = Annotated[keys.Principal, Depends(require("events:write"))]
Reader = Annotated[keys.Principal, Depends(require("customers:read"))]
Admin = Annotated[keys.Principal, Depends(require("admin"))]
LoyaltyWriter = Annotated[keys.Principal, Depends(require("loyalty:write"))]
# Points credited or debited by hand: admin keys hold it, or a key granted just that.
LoyaltyAdjuster = Annotated[keys.Principal, Depends(require("loyalty:adjust"))]
Resolver = Annotated[keys.Principal, Depends(require("complaints:resolve"))]
DeskAgent = Annotated[keys.Principal, Depends(require("desk:write"))]
Editor = Annotated[keys.Principal, Depends(require("customers:write"))]
Auditor = Annotated[keys.Principal, Depends(require("audit:read"))]
# Data-protection requests: admin keys hold them, or a key granted just that.
Exporter = Annotated[keys.Principal, Depends(require("privacy:export"))]
Eraser = Annotated[keys.Principal, Depends(require("privacy:erase"))]
# Bulk import of customers: admin keys hold it, or a key granted just that.
CustomerImporter = Annotated[keys.Principal, Depends(require("customers:import"))]


def refuse_all_tenants_unless_operator(caller: keys.Principal, all_tenants: bool) -> None:
    """A sweep acts on the caller's tenant; every tenant's at once is the operator's."""
    if all_tenants and not caller.operator:
        raise Problem(
            403,
            "operator-only",
            "Sweeping every tenant needs the operator scope; without all_tenants the sweep "
            "acts on your tenant.",
        )


def acting_key(caller: keys.Principal) -> str:
    """How the services record who acted: the API key, by id (never its secret)."""
    return f"api-key:{caller.key_id}"
