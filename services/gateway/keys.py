"""API keys: who is calling, for which tenant and partner, with which scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.tables import api_key
from shared.auth import SCOPES, hash_api_key, new_api_key
from shared.db import insert_ignoring_conflicts
from shared.uow import Database

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    tenant_id: str
    partner: str
    scopes: frozenset[str]
    signed: bool = False


async def authenticate(engine: AsyncEngine, presented: str) -> Principal | None:
    """The principal behind a presented key, or None for an unknown or revoked one."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(api_key).where(
                    api_key.c.key_hash == hash_api_key(presented), api_key.c.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None
    return Principal(row.key_id, row.tenant_id, row.partner, frozenset(row.scopes), row.signed)


async def create_key(
    db: Database,
    *,
    tenant_id: str,
    partner: str,
    name: str,
    scopes: frozenset[str],
    now: datetime,
    signed: bool = False,
) -> tuple[uuid.UUID, str]:
    """A new key for a tenant; returns its id and the key, which is never stored."""
    key_id, secret = uuid.uuid4(), new_api_key()
    row = _row(key_id, tenant_id, partner, name, scopes, secret, now) | {"signed": signed}
    async with db.unit_of_work() as uow:
        await uow.conn.execute(api_key.insert(), [row])
        await uow.commit()
    return key_id, secret


async def ensure_bootstrap_key(db: Database, secret: str, now: datetime) -> None:
    """The operator's admin key exists (created on first start, left alone after)."""
    key_id = uuid.uuid5(uuid.NAMESPACE_OID, hash_api_key(secret))
    row = _row(key_id, DEFAULT_TENANT, "default", "bootstrap", SCOPES, secret, now)
    async with db.unit_of_work() as uow:
        await insert_ignoring_conflicts(uow.conn, api_key, [row])
        await uow.commit()


def _row(
    key_id: uuid.UUID,
    tenant_id: str,
    partner: str,
    name: str,
    scopes: frozenset[str],
    secret: str,
    now: datetime,
) -> dict[str, object]:
    return {
        "key_id": key_id,
        "tenant_id": tenant_id,
        "partner": partner,
        "name": name,
        "scopes": sorted(scopes),
        "key_hash": hash_api_key(secret),
        "created_at": now,
        "revoked_at": None,
        "signed": False,
    }
