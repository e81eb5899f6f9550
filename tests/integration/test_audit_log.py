"""The audit log on PostgreSQL, in the gateway's migrated database: a key's creation and
revocation each write one entry, read back by target and actor, and the table refuses
UPDATE, DELETE and TRUNCATE whoever sends them (the migration's trigger)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.auth import new_api_key
from shared.db import create_engine
from tests.integration.services import Infra, create_database, drop_database, run_service

OPERATOR_KEY = new_api_key()
BEARER = {"Authorization": f"Bearer {OPERATOR_KEY}"}


async def test_decisions_are_recorded_once_and_the_table_refuses_changes(infra: Infra) -> None:
    await create_database(infra, "gateway")
    engine = create_engine(infra.database_url("gateway"))
    try:
        async with run_service(infra, "gateway", bootstrap_api_key=SecretStr(OPERATOR_KEY)) as gw:
            body = {"name": "till", "partner": "pos", "scopes": ["events:write"]}
            created = await gw.client.post("/v1/admin/api-keys", json=body, headers=BEARER)
            key_id = created.json()["key_id"]
            for _ in range(2):
                revoked = await gw.client.delete(f"/v1/admin/api-keys/{key_id}", headers=BEARER)
                assert revoked.status_code == 204
            about = await gw.client.get(
                "/v1/audit", params={"target": f"api_key:{key_id}"}, headers=BEARER
            )
            by_other = await gw.client.get("/v1/audit", params={"actor": key_id}, headers=BEARER)
        assert [e["action"] for e in about.json()["entries"]] == [
            "api_key.revoked",
            "api_key.created",
        ]
        assert by_other.json()["entries"] == []
        for statement in (
            "UPDATE audit_entry SET action = 'forged'",
            "DELETE FROM audit_entry",
            "TRUNCATE audit_entry",
        ):
            async with engine.begin() as conn:
                with pytest.raises(DBAPIError, match="append-only"):
                    await conn.execute(text(statement))
        async with engine.connect() as conn:
            actions = (await conn.execute(text("SELECT action FROM audit_entry"))).scalars()
            assert sorted(actions) == ["api_key.created", "api_key.revoked"]
    finally:
        await engine.dispose()
        await drop_database(infra, "gateway")
