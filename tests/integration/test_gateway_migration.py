"""Upgrading a gateway database of the previous release on PostgreSQL: every existing key
may post only for its own partner's source, and the bootstrap key alone gets ``operator``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select

from services.gateway.tables import api_key
from shared.auth import hash_api_key, new_api_key
from shared.db import create_engine
from shared.migrations import alembic_config, migrate
from tests.integration.services import Infra, create_database, drop_database

BEFORE_KEY_BINDINGS = "b5567459db54"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_existing_keys_are_bound_to_their_partner_and_the_bootstrap_is_marked(
    infra: Infra,
) -> None:
    name = "gateway_migration"
    await create_database(infra, name)
    engine = create_engine(infra.database_url(name))
    bootstrap, partner = new_api_key(), new_api_key()
    old_columns = ("key_id", "tenant_id", "partner", "name", "scopes", "key_hash", "created_at")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda sync: command.upgrade(alembic_config("gateway", sync), BEFORE_KEY_BINDINGS)
            )
            rows = [
                (
                    uuid.uuid5(uuid.NAMESPACE_OID, hash_api_key(bootstrap)),
                    "default", "default", "bootstrap", ["admin", "events:write"],
                    hash_api_key(bootstrap), T0,
                ),
                (
                    uuid.uuid4(), "acme", "pos", "tills", ["events:write"],
                    hash_api_key(partner), T0,
                ),
            ]  # fmt: skip
            await conn.execute(
                api_key.insert(), [dict(zip(old_columns, row, strict=True)) for row in rows]
            )
        await migrate(engine, "gateway")
        async with engine.connect() as conn:
            found = {
                row.name: row
                for row in await conn.execute(
                    select(api_key.c.name, api_key.c.sources, api_key.c.scopes, api_key.c.bootstrap)
                )
            }
    finally:
        await engine.dispose()
        await drop_database(infra, name)
    assert found["tills"].sources == ["pos"] and found["tills"].bootstrap is False
    assert "operator" not in found["tills"].scopes
    assert found["bootstrap"].bootstrap is True and "operator" in found["bootstrap"].scopes
