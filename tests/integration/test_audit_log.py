"""The audit log on PostgreSQL, in the gateway's migrated database: a key's creation and
revocation each write one entry, read back by target and actor, and the table refuses
UPDATE, DELETE and TRUNCATE whoever sends them (the migration's trigger). A decision
forwarded to a service whose answer the gateway never had (it stopped meanwhile) is
recorded once, as unanswered, by the next gateway to start."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.gateway import audit
from services.gateway.app import definition as gateway
from shared.auth import new_api_key
from shared.clock import FrozenClock
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


class Unanswering(httpx.AsyncBaseTransport):
    """A service that takes the request and never answers."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.reached.set()
        await asyncio.Event().wait()
        raise AssertionError("never answers")


async def test_a_decision_the_gateway_stopped_before_hearing_of_is_recorded_once(
    infra: Infra,
) -> None:
    await create_database(infra, "gateway")
    engine = create_engine(infra.database_url("gateway"))
    loyalty, clock = Unanswering(), FrozenClock(datetime.now(UTC))
    customer = uuid.uuid4()
    redemption = f"/v1/customers/{customer}/loyalty/redemptions"
    key = SecretStr(OPERATOR_KEY)
    try:
        service = gateway(transports={"loyalty": loyalty})
        async with run_service(
            infra, "gateway", service=service, clock=clock, bootstrap_api_key=key
        ) as gw:
            asked = asyncio.create_task(
                gw.client.post(
                    redemption,
                    json={"points": 100, "reason": "gift"},
                    headers=BEARER | {"Idempotency-Key": "gift-1"},
                )
            )
            await asyncio.wait_for(loyalty.reached.wait(), 10)
            asked.cancel()  # the gateway stops with the request in hand
            with pytest.raises(asyncio.CancelledError):
                await asked
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM audit_pending")) == 1
            redeemed = text("SELECT count(*) FROM audit_entry WHERE action = 'loyalty.redeemed'")
            assert await conn.scalar(redeemed) == 0

        clock.move_to(clock.now() + audit.unanswered_after(5.0) + timedelta(seconds=1))
        async with run_service(infra, "gateway", clock=clock, bootstrap_api_key=key) as gw:
            for _ in range(100):  # its first settling pass runs as it starts
                about = await gw.client.get(
                    "/v1/audit", params={"target": f"customer:{customer}"}, headers=BEARER
                )
                if about.json()["entries"]:
                    break
                await asyncio.sleep(0.1)
        [entry] = about.json()["entries"]
        assert entry["action"] == "loyalty.redeemed"
        assert entry["change"] == {
            "before": None,
            "after": {"points": 100, "reason": "gift"},
            "outcome": "unanswered",
        }
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM audit_pending")) == 0
    finally:
        await engine.dispose()
        await drop_database(infra, "gateway")
