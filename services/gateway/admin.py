"""API-key administration: create, list, rotate and revoke the keys of a tenant.

An admin acts on its own tenant's keys only and grants no scope it lacks; work
across tenants needs the ``operator`` scope, which the bootstrap key alone
holds and no key can be given. Secrets are shown once, in the answer that
creates them, and never listed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from services.gateway import audit, keys, signing
from services.gateway.auth import Admin, failures
from services.gateway.key_models import (
    MAX_LIFETIME,
    ApiKeyInfo,
    ApiKeyPage,
    CreatedApiKey,
    NewApiKey,
    RotatedApiKey,
    Rotation,
)
from services.gateway.links import link, links
from services.gateway.runtime import GatewayRuntime, RuntimeDep
from shared.auth import OPERATOR
from shared.contracts.query import Id
from shared.cursors import KeysetCursor, decode_keyset, encode_keyset
from shared.problems import Problem

router = APIRouter(prefix="/v1/admin/api-keys", tags=["admin"])


def _key_links(status: int, key_id: str) -> dict[str, Any]:
    return links(
        status,
        Rotate=link(f"{router.prefix}/{{key_id}}/rotate", "post", key_id=key_id),
        Revoke=link(f"{router.prefix}/{{key_id}}", "delete", key_id=key_id),
    )


@router.post(
    "",
    status_code=201,
    responses=failures(400, 413),
    openapi_extra=_key_links(201, "$response.body#/key_id"),
)
async def create_api_key(body: NewApiKey, runtime: RuntimeDep, caller: Admin) -> CreatedApiKey:
    """Create an API key for the caller's tenant (or, for the operator, another tenant);
    the key is shown once, in this answer."""
    tenant_id = _tenant(caller, body.tenant_id, "create keys for")
    _grantable(caller, frozenset(body.scopes))
    now = runtime.clock.now()
    if body.expires_at is not None and not now < body.expires_at <= now + MAX_LIFETIME:
        raise Problem(
            422, "validation-failed", "expires_at must lie in the future, at most ten years ahead."
        )
    master = runtime.settings.signing_master_key
    if body.signed and master is None:
        raise Problem(
            422, "signing-not-configured", "Set CRM_SIGNING_MASTER_KEY to issue signing keys."
        )
    spec = keys.KeySpec(
        tenant_id=tenant_id,
        partner=body.partner,
        name=body.name,
        scopes=frozenset(body.scopes),
        sources=tuple(body.sources or [body.partner]),
        event_types=None if body.event_types is None else tuple(body.event_types),
        signed=body.signed,
        expires_at=body.expires_at,
    )
    key_id, secret = await keys.create_key(runtime.db, spec, now)
    created = body.model_dump(exclude={"tenant_id"}) | {"sources": sorted(set(spec.sources))}
    decision = audit.Decision(
        "api_key.created", f"api_key:{key_id}", after=created, tenant=tenant_id
    )
    await audit.record(runtime.db, caller, decision)
    return CreatedApiKey(
        key_id=key_id,
        api_key=secret,
        tenant_id=tenant_id,
        partner=body.partner,
        scopes=sorted(spec.scopes),
        sources=sorted(set(spec.sources)),
        event_types=None if spec.event_types is None else sorted(set(spec.event_types)),
        expires_at=body.expires_at,
        signing_secret=_signing_secret(runtime, key_id, 0) if body.signed else None,
    )


@router.get(
    "", responses=failures(), openapi_extra=_key_links(200, "$response.body#/keys/0/key_id")
)
async def list_api_keys(
    runtime: RuntimeDep,
    caller: Admin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: KeysetCursor = None,
    tenant_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[a-z0-9_-]+$",
            description="Another tenant's keys (operator only); default: the caller's",
        ),
    ] = None,
) -> ApiKeyPage:
    """The tenant's keys, oldest first, revoked ones included; never a secret or a hash."""
    tenant = _tenant(caller, tenant_id, "list the keys of")
    after = decode_keyset(cursor) if cursor else None
    rows = await keys.list_keys(runtime.db.engine, tenant, limit + 1, after)
    page = [ApiKeyInfo.model_validate(row, from_attributes=True) for row in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    following = encode_keyset(last.created_at, last.key_id) if last else None
    return ApiKeyPage(keys=page, next_cursor=following)


@router.delete("/{key_id}", status_code=204, responses=failures(404, 409))
async def revoke_api_key(key_id: Id, runtime: RuntimeDep, caller: Admin) -> Response:
    """Revoke a key: every gateway refuses it from the next request on."""
    now = runtime.clock.now()
    try:
        revoked = await keys.revoke(runtime.db, key_id, _scope_of(caller), now)
    except keys.NoSuchKey:
        raise _no_such_key(key_id) from None
    except keys.BootstrapKey:
        raise _bootstrap_problem() from None
    if revoked is not None:  # revoking twice is one decision
        decision = audit.Decision(
            "api_key.revoked",
            f"api_key:{key_id}",
            before={"revoked_at": None},
            after={"revoked_at": now},
            tenant=revoked,
        )
        await audit.record(runtime.db, caller, decision)
    return Response(status_code=204)


@router.post("/{key_id}/rotate", responses=failures(400, 404, 409, 413))
async def rotate_api_key(
    key_id: Id,
    runtime: RuntimeDep,
    caller: Admin,
    body: Annotated[Rotation | None, Body()] = None,
) -> RotatedApiKey:
    """Give a key a new secret; the current one keeps working for ``overlap_seconds``
    (default a day, at most a week) so the holder can switch without a gap."""
    overlap = timedelta(seconds=(body or Rotation()).overlap_seconds)
    try:
        rotated = await keys.rotate(
            runtime.db, key_id, _scope_of(caller), runtime.clock.now(), overlap
        )
    except keys.NoSuchKey:
        raise _no_such_key(key_id) from None
    except keys.BootstrapKey:
        raise _bootstrap_problem() from None
    except keys.RevokedKey:
        raise Problem(
            409, "key-revoked", "A revoked key cannot be rotated; create a new one."
        ) from None
    after = {"generation": rotated.generation, "previous_valid_until": rotated.previous_valid_until}
    decision = audit.Decision(
        "api_key.rotated", f"api_key:{key_id}", after=after, tenant=rotated.tenant_id
    )
    await audit.record(runtime.db, caller, decision)
    return RotatedApiKey(
        key_id=key_id,
        api_key=rotated.secret,
        previous_valid_until=rotated.previous_valid_until,
        signing_secret=(
            _signing_secret(runtime, key_id, rotated.generation) if rotated.signed else None
        ),
    )


def _tenant(caller: keys.Principal, requested: str | None, action: str) -> str:
    if requested is None or requested == caller.tenant_id:
        return caller.tenant_id
    if not caller.operator:
        raise Problem(403, "foreign-tenant", f"Only the operator may {action} other tenants.")
    return requested


def _scope_of(caller: keys.Principal) -> str | None:
    """The tenant whose keys the caller may change: its own, or any for the operator."""
    return None if caller.operator else caller.tenant_id


def _grantable(caller: keys.Principal, scopes: frozenset[str]) -> None:
    if OPERATOR in scopes:
        raise Problem(
            403, "scope-not-grantable", "Only the bootstrap key holds 'operator'; no key gets it."
        )
    lacking = sorted(scopes - caller.scopes)
    if lacking:
        raise Problem(
            403,
            "scope-not-grantable",
            f"A key can only grant scopes it holds; this one lacks {', '.join(lacking)}.",
        )


def _no_such_key(key_id: uuid.UUID) -> Problem:
    return Problem(404, "api-key-not-found", f"No API key {key_id} in your tenant.")


def _bootstrap_problem() -> Problem:
    return Problem(
        409,
        "bootstrap-key",
        "The bootstrap key follows CRM_BOOTSTRAP_API_KEY: set a new value and restart the "
        "gateway, which revokes the old key.",
    )


def _signing_secret(runtime: GatewayRuntime, key_id: uuid.UUID, generation: int) -> str | None:
    master = runtime.settings.signing_master_key
    if master is None:
        return None
    return signing.signing_secret(master.get_secret_value(), key_id, generation)
