"""Who is calling: API-key authentication and the scope each route requires."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from services.gateway import keys
from services.gateway.ratelimit import retry_after
from services.gateway.upstream import Upstreams
from shared.app import RuntimeDep
from shared.problems import Problem


def require(scope: str) -> Callable[..., Awaitable[keys.Principal]]:
    """A dependency that admits only a valid key holding ``scope``."""

    async def principal(request: Request, runtime: RuntimeDep) -> keys.Principal:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="crm"'}
        if scheme.lower() != "bearer" or not presented.strip():
            raise Problem(
                401, "missing-api-key", "Send 'Authorization: Bearer <api key>'.", headers=challenge
            )
        found = await keys.authenticate(runtime.db.engine, presented.strip())
        if found is None:
            raise Problem(
                401, "invalid-api-key", "The API key is unknown or revoked.", headers=challenge
            )
        if scope not in found.scopes:
            raise Problem(403, "insufficient-scope", f"This API key lacks the '{scope}' scope.")
        wait = runtime.resources["rate_limiter"].acquire(found.key_id)
        if wait:
            raise Problem(
                429,
                "rate-limited",
                "This API key sends too many requests; slow down and retry after the delay.",
                headers={"Retry-After": retry_after(wait)},
            )
        return found

    return principal


def _upstreams(runtime: RuntimeDep) -> Upstreams:
    return runtime.resources["upstreams"]


UpstreamsDep = Annotated[Upstreams, Depends(_upstreams)]
Writer = Annotated[keys.Principal, Depends(require("events:write"))]
Reader = Annotated[keys.Principal, Depends(require("customers:read"))]
Admin = Annotated[keys.Principal, Depends(require("admin"))]
LoyaltyWriter = Annotated[keys.Principal, Depends(require("loyalty:write"))]
