"""Rate limits that can trigger: failed authentications are limited per client address,
and the default per-key limit lies below what one gateway process serves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from services.gateway.app import definition
from services.gateway.settings import GatewaySettings
from shared.app import create_service_app
from shared.auth import new_api_key
from shared.bus.memory import MemoryBus


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, admin: str, **settings: Any) -> AsyncIterator[FastAPI]:
    config = GatewaySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        bootstrap_api_key=SecretStr(admin),
        internal_secret=SecretStr("i" * 32),
        **settings,
    )
    app = create_service_app(definition(), config, bus=MemoryBus())
    async with app.router.lifespan_context(app):
        yield app


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_an_address_that_keeps_failing_to_authenticate_is_told_to_wait(
    tmp_path: Path,
) -> None:
    admin = new_api_key()
    async with (
        gateway(tmp_path, admin, auth_failures_per_second=0.01, auth_failure_burst=3) as app,
        client_from(app, "203.0.113.7") as guesser,
        client_from(app, "198.51.100.1") as partner,
    ):

        async def keys_list(client: httpx.AsyncClient, key: str) -> httpx.Response:
            return await client.get(
                "/v1/admin/api-keys", headers={"Authorization": f"Bearer {key}"}
            )

        guesses = [await keys_list(guesser, new_api_key()) for _ in range(3)]
        limited = await keys_list(guesser, new_api_key())
        even_a_good_key = await keys_list(guesser, admin)
        elsewhere = await keys_list(partner, admin)

    assert [g.status_code for g in guesses] == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.json()["type"] == "urn:crm:problem:too-many-failed-authentications"
    assert int(limited.headers["retry-after"]) >= 1
    assert even_a_good_key.status_code == 429  # a correct guess must not get through either
    assert elsewhere.status_code == 200


async def test_one_key_flooding_a_gateway_is_limited_by_default(tmp_path: Path) -> None:
    """The default per-key rate lies below what this process serves, so a flood from one
    key meets 429 (a default above the gateway's capacity could never trigger)."""
    admin = new_api_key()
    statuses: list[int] = []
    async with gateway(tmp_path, admin) as app, client_from(app, "192.0.2.1") as client:

        async def flood() -> None:
            while len(statuses) < 1500 and 429 not in statuses:
                answer = await client.get(
                    "/v1/admin/api-keys", headers={"Authorization": f"Bearer {admin}"}
                )
                statuses.append(answer.status_code)

        await asyncio.gather(*(flood() for _ in range(16)))
    assert 429 in statuses, f"{len(statuses)} requests, none limited"
    assert set(statuses) <= {200, 429}
