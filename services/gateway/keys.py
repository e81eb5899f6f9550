"""API keys: who is calling, for which tenant and partner, with which scopes and sources.

Every request looks its key up in the database, never in a process cache: a
revocation takes effect at once on every gateway process. A rotation keeps the
key's id and issues a new secret; the previous one is accepted until the end
of its overlap window, so a partner can roll the new key out without a gap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.tables import api_key
from shared.auth import (
    KEY_PREFIX,
    OPERATOR,
    PUBLISHABLE_PREFIX,
    SCOPES,
    hash_api_key,
    new_api_key,
)
from shared.db import insert_ignoring_conflicts
from shared.uow import Database

DEFAULT_TENANT = "default"
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    tenant_id: str
    partner: str
    scopes: frozenset[str]
    signed: bool = False
    sources: frozenset[str] = frozenset()
    event_types: frozenset[str] | None = None
    generation: int = 0
    customer: tuple[str, str] | None = None  # a publishable key's (source, external id)

    @property
    def operator(self) -> bool:
        return OPERATOR in self.scopes


@dataclass(frozen=True)
class KeySpec:
    """What a new key may do; ``event_types`` None means every partner type."""

    tenant_id: str
    partner: str
    name: str
    scopes: frozenset[str]
    sources: tuple[str, ...]
    event_types: tuple[str, ...] | None = None
    signed: bool = False
    expires_at: datetime | None = None


class KeyRefused(Exception):
    """Why a presented key does not authenticate (safe to show its holder)."""


async def authenticate(engine: AsyncEngine, presented: str, now: datetime) -> Principal:
    """The principal behind a presented key; ``KeyRefused`` for an unknown, revoked,
    expired or rotated-out one."""
    digest = hash_api_key(presented)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(api_key).where(
                    or_(api_key.c.key_hash == digest, api_key.c.previous_key_hash == digest)
                )
            )
        ).first()
    if row is None or row.revoked_at is not None:
        raise KeyRefused("The API key is unknown or revoked.")
    generation = row.generation
    if row.key_hash != digest:
        if row.previous_valid_until is None or row.previous_valid_until <= now:
            raise KeyRefused(
                "This API key was replaced by a rotation and its overlap has ended; "
                "use the new key."
            )
        generation -= 1
    if row.expires_at is not None and row.expires_at <= now:
        raise KeyRefused(
            f"This API key expired at {row.expires_at.isoformat()}; ask an admin for a new one."
        )
    return Principal(
        row.key_id,
        row.tenant_id,
        row.partner,
        frozenset(row.scopes),
        row.signed,
        frozenset(row.sources),
        None if row.event_types is None else frozenset(row.event_types),
        generation,
        None if row.kind != "publishable" else (row.customer_source, row.customer_external_id),
    )


class UsageClock:
    """Records ``last_used_at`` at most once a minute per key and process: a write per
    request would cost more than the lookup it annotates."""

    def __init__(self, every: timedelta = LAST_USED_EVERY) -> None:
        self._every = every
        self._recorded: dict[uuid.UUID, datetime] = {}

    async def used(self, db: Database, key_id: uuid.UUID, now: datetime) -> None:
        last = self._recorded.get(key_id)
        if last is not None and last <= now < last + self._every:
            return
        if len(self._recorded) > 100_000:
            self._recorded.clear()
        self._recorded[key_id] = now
        async with db.unit_of_work() as uow:
            await uow.conn.execute(
                update(api_key)
                .where(
                    api_key.c.key_id == key_id,
                    or_(api_key.c.last_used_at.is_(None), api_key.c.last_used_at < now),
                )
                .values(last_used_at=now)
            )
            await uow.commit()


async def create_key(
    db: Database, spec: KeySpec, now: datetime, customer: tuple[str, str] | None = None
) -> tuple[uuid.UUID, str]:
    """A new key for a tenant; returns its id and the key, which is never stored. With
    ``customer`` (source, external id) it is a publishable key bound to that customer."""
    key_id = uuid.uuid4()
    secret = new_api_key(PUBLISHABLE_PREFIX if customer else KEY_PREFIX)
    row = _row(key_id, spec, secret, now)
    if customer is not None:
        row |= {"kind": "publishable", "customer_source": customer[0]}
        row["customer_external_id"] = customer[1]
    async with db.unit_of_work() as uow:
        await uow.conn.execute(api_key.insert(), [row])
        await uow.commit()
    return key_id, secret


async def ensure_bootstrap_key(db: Database, secret: str, now: datetime) -> None:
    """The operator's key from ``CRM_BOOTSTRAP_API_KEY`` exists, holds every scope, and is
    the only bootstrap key: one configured before it is revoked, so changing the setting
    and restarting retires a leaked key."""
    key_id = uuid.uuid5(uuid.NAMESPACE_OID, hash_api_key(secret))
    spec = KeySpec(DEFAULT_TENANT, "default", "bootstrap", SCOPES, ("default",))
    row = _row(key_id, spec, secret, now) | {"bootstrap": True}
    async with db.unit_of_work() as uow:
        await uow.conn.execute(
            update(api_key)
            .where(
                api_key.c.bootstrap.is_(True),
                api_key.c.key_id != key_id,
                api_key.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        await insert_ignoring_conflicts(uow.conn, api_key, [row])
        await uow.conn.execute(
            update(api_key)
            .where(api_key.c.key_id == key_id)
            .values(scopes=sorted(SCOPES), bootstrap=True, revoked_at=None)
        )
        await uow.commit()


def _row(key_id: uuid.UUID, spec: KeySpec, secret: str, now: datetime) -> dict[str, Any]:
    return {
        "key_id": key_id,
        "tenant_id": spec.tenant_id,
        "partner": spec.partner,
        "name": spec.name,
        "scopes": sorted(spec.scopes),
        "sources": sorted(set(spec.sources)),
        "event_types": None if spec.event_types is None else sorted(set(spec.event_types)),
        "signed": spec.signed,
        "expires_at": spec.expires_at,
        "key_hash": hash_api_key(secret),
        "created_at": now,
        "revoked_at": None,
        "bootstrap": False,
        "generation": 0,
    }


class NoSuchKey(LookupError):
    """No key of that id in the tenants the caller may act on."""


class BootstrapKey(ValueError):
    """The bootstrap key changes only with ``CRM_BOOTSTRAP_API_KEY``."""


class RevokedKey(ValueError):
    """A revoked key cannot be rotated back to life."""


@dataclass(frozen=True)
class Rotated:
    secret: str
    generation: int
    previous_valid_until: datetime
    signed: bool
    tenant_id: str


async def revoke(
    db: Database, key_id: uuid.UUID, tenant_id: str | None, now: datetime
) -> str | None:
    """Revoke a key of ``tenant_id`` (None: any tenant, for the operator); revoking twice
    is the same as once. The key's tenant if this call revoked it, None if it was already."""
    async with db.unit_of_work() as uow:
        row = await _owned(uow.conn, key_id, tenant_id)
        if row.revoked_at is None:
            await uow.conn.execute(
                update(api_key).where(api_key.c.key_id == key_id).values(revoked_at=now)
            )
        await uow.commit()
    return str(row.tenant_id) if row.revoked_at is None else None


async def rotate(
    db: Database, key_id: uuid.UUID, tenant_id: str | None, now: datetime, overlap: timedelta
) -> Rotated:
    """Give the key a new secret; the current one stays valid for ``overlap`` (one
    before it, if a rotation was still overlapping, stops at once)."""
    secret = new_api_key()
    async with db.unit_of_work() as uow:
        row = await _owned(uow.conn, key_id, tenant_id)
        if row.revoked_at is not None:
            raise RevokedKey(key_id)
        until = now + overlap
        if row.expires_at is not None:
            until = min(until, row.expires_at)
        await uow.conn.execute(
            update(api_key)
            .where(api_key.c.key_id == key_id)
            .values(
                key_hash=hash_api_key(secret),
                previous_key_hash=row.key_hash,
                previous_valid_until=until,
                generation=row.generation + 1,
                rotated_at=now,
            )
        )
        await uow.commit()
    return Rotated(secret, row.generation + 1, until, row.signed, row.tenant_id)


async def _owned(conn: Any, key_id: uuid.UUID, tenant_id: str | None) -> Any:
    """The key's row, locked for the change; a key of another tenant does not exist."""
    query = select(api_key).where(api_key.c.key_id == key_id).with_for_update()
    if tenant_id is not None:
        query = query.where(api_key.c.tenant_id == tenant_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NoSuchKey(key_id)
    if row.bootstrap:
        raise BootstrapKey(key_id)
    return row


async def list_keys(
    engine: AsyncEngine, tenant_id: str, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[Any]:
    """A tenant's keys, oldest first, from just after the ``after`` (created, id) cursor."""
    query = select(api_key).where(api_key.c.tenant_id == tenant_id)
    if after is not None:
        created, key_id = after
        query = query.where(
            or_(
                api_key.c.created_at > created,
                (api_key.c.created_at == created) & (api_key.c.key_id > key_id),
            )
        )
    query = query.order_by(api_key.c.created_at, api_key.c.key_id).limit(limit)
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())
