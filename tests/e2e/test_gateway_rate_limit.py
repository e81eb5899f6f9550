"""A key past its rate gets 429 problem+json with Retry-After; other keys carry on."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from services.gateway.app import definition
from services.gateway.settings import GatewaySettings
from shared.app import create_service_app
from shared.auth import new_api_key
from shared.bus.memory import MemoryBus


async def test_a_key_over_its_rate_is_told_when_to_retry(tmp_path: Path) -> None:
    key = new_api_key()
    settings = GatewaySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        bootstrap_api_key=SecretStr(key),
        internal_secret=SecretStr("i" * 32),
        rate_limit_per_second=0.5,
        rate_limit_burst=2,
    )
    app = create_service_app(definition(), settings, bus=MemoryBus())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client,
    ):

        async def new_key(as_key: str, name: str) -> httpx.Response:
            return await client.post(
                "/v1/admin/api-keys",
                json={"name": name, "partner": "web", "scopes": ["admin"]},
                headers={"Authorization": f"Bearer {as_key}"},
            )

        first, second = await new_key(key, "one"), await new_key(key, "two")
        limited = await new_key(key, "three")
        by_another_key = await new_key(first.json()["api_key"], "four")

    assert [first.status_code, second.status_code] == [201, 201]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["type"] == "urn:crm:problem:rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert by_another_key.status_code == 201
