"""A service's own edges, reached directly (not through the gateway): its body limit
and its readiness answer, on SQLite and the in-memory bus."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from services import definition
from shared.app import create_service_app
from shared.bus.memory import MemoryBus
from shared.db import create_engine
from shared.runtime import Runtime

SECRET = "s3cret-passw0rd"


class UnreachableBus(MemoryBus):
    """A bus whose broker does not answer, with credentials in its error text."""

    async def ping(self) -> None:
        raise ConnectionError(f"SASL authentication failed for crm:{SECRET}@kafka-1:9093")


@contextlib.asynccontextmanager
async def loyalty(
    tmp_path: Path, bus: MemoryBus | None = None, **settings: object
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    service = definition("loyalty")
    config = service.settings(
        service="loyalty", database_url=f"sqlite+aiosqlite:///{tmp_path / 'loyalty.db'}", **settings
    )
    app = create_service_app(service, config, bus=bus or MemoryBus())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://loyalty",
            headers={"X-CRM-Tenant": "default"},
        ) as client,
    ):
        yield client, app.state.runtime


async def test_a_service_refuses_a_body_past_its_limit_declared_or_streamed(
    tmp_path: Path,
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b'{"points": 1, "reason": "gift", "padding": "'
        for _ in range(40):
            yield b"x" * (64 * 1024)
        yield b'"}'

    path = f"/v1/customers/{uuid.uuid4()}/loyalty/redemptions"
    headers = {"Idempotency-Key": "k-1", "content-type": "application/json"}
    async with loyalty(tmp_path, max_body_bytes=1024 * 1024) as (client, _):
        declared = await client.post(path, content=b" " * (2 * 1024 * 1024), headers=headers)
        streamed = await client.post(path, content=stream(), headers=headers)
        small = await client.post(path, json={"points": 1, "reason": "gift"}, headers=headers)

    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:crm:problem:body-too-large"
        assert "1048576" in answer.json()["detail"]
    assert small.status_code != 413  # within the limit: read whole and answered by the route


async def test_readyz_names_the_bus_that_is_down_and_never_its_error_text(tmp_path: Path) -> None:
    async with loyalty(tmp_path, bus=UnreachableBus()) as (client, _):
        answer = await client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["dependency"] == "bus"
    assert "bus" in answer.json()["detail"]
    assert SECRET not in answer.text and "kafka-1" not in answer.text


async def test_readyz_names_the_database_that_is_down_and_never_its_error_text(
    tmp_path: Path,
) -> None:
    async with loyalty(tmp_path) as (client, runtime):
        working = runtime.db.engine
        runtime.db.engine = create_engine(f"postgresql+asyncpg://crm:{SECRET}@127.0.0.1:9/crm")
        try:
            answer = await client.get("/readyz")
        finally:
            await runtime.db.engine.dispose()
            runtime.db.engine = working

    assert answer.status_code == 503
    assert answer.json()["dependency"] == "database"
    assert SECRET not in answer.text and "127.0.0.1" not in answer.text
