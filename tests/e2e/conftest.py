"""End-to-end fixtures: the local topology of ``make up`` (five processes, real
PostgreSQL and Kafka), reached over HTTP through the gateway like a partner."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def topology() -> ServiceSettings:
    """Start the five services if they are not running (idempotent, as ``make up``)."""
    subprocess.run([str(ROOT / "deploy/local/services.sh"), "start"], check=True, env=_env())
    return ServiceSettings()


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "CRM_QUIET_KEY": "1"}


@pytest.fixture(scope="session")
def admin_key(topology: ServiceSettings) -> str:
    return (ROOT / ".data" / "bootstrap-api-key").read_text().strip()


@pytest.fixture(scope="session")
async def gateway(topology: ServiceSettings, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{topology.gateway_port}",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
def run_id() -> str:
    """Fresh references per test: the topology's databases outlive a test run."""
    return uuid.uuid4().hex[:10]


def purchase(
    event_id: str,
    external_id: str,
    order_id: str,
    amount_minor: int = 129900,
    currency: str = "CNY",
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "purchase.completed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": "pos", "external_id": external_id, "name": "Li Wei"},
        "data": {
            "order_id": order_id,
            "amount_minor": amount_minor,
            "currency": currency,
            "channel": "store",
        },
    }


async def eventually(
    probe: Callable[[], Awaitable[Any]], until: Callable[[Any], bool], within: float = 5.0
) -> tuple[Any, float]:
    """Poll ``probe`` until ``until`` holds; returns the last value and the seconds it took."""
    started = time.perf_counter()
    value = None
    while time.perf_counter() - started < within:
        value = await probe()
        if until(value):
            return value, time.perf_counter() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within}s; last seen: {value}")


async def customer_360(gateway: httpx.AsyncClient, external_id: str) -> dict[str, Any] | None:
    """The 360 of the customer the POS knows as ``external_id`` (None until it exists)."""
    found = await gateway.get(
        "/v1/customers/lookup", params={"source": "pos", "external_id": external_id}
    )
    if found.status_code == 404:
        return None
    found.raise_for_status()
    answer = await gateway.get(f"/v1/customers/{found.json()['customer_id']}")
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]
