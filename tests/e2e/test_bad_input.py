"""Bad input gets the right status, a problem+json body a person can act on, and
leaves nothing half-written."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import customer_360, purchase


def assert_problem(answer: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == f"urn:crm:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


async def assert_never_created(gateway: httpx.AsyncClient, external_id: str) -> None:
    await asyncio.sleep(1.0)  # what was wrongly accepted would have reached profile by now
    assert await customer_360(gateway, external_id) is None


async def test_a_missing_key_is_401(gateway: httpx.AsyncClient, run_id: str) -> None:
    answer = await gateway.post(
        "/v1/events", json=purchase(run_id, f"X-{run_id}", "O"), headers={"Authorization": ""}
    )
    assert_problem(answer, 401, "missing-api-key")
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_an_unknown_key_is_401(gateway: httpx.AsyncClient, run_id: str) -> None:
    answer = await gateway.get(
        "/v1/customers/lookup",
        params={"source": "pos", "external_id": "C-1"},
        headers={"Authorization": "Bearer crm_not-a-key"},
    )
    assert_problem(answer, 401, "invalid-api-key")


async def test_a_key_without_the_scope_is_403_and_writes_nothing(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    created = await gateway.post(
        "/v1/admin/api-keys",
        json={"name": "dashboard", "partner": "web", "scopes": ["customers:read"]},
    )
    assert created.status_code == 201
    reader = created.json()["api_key"]

    answer = await gateway.post(
        "/v1/events",
        json=purchase(run_id, f"X-{run_id}", "O"),
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert_problem(answer, 403, "insufficient-scope")
    denied_admin = await gateway.post(
        "/v1/admin/api-keys",
        json={"name": "x", "partner": "web", "scopes": ["admin"]},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert_problem(denied_admin, 403, "insufficient-scope")
    await assert_never_created(gateway, f"X-{run_id}")


async def test_malformed_json_is_400(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.post(
        "/v1/events", content=b'{"id": "x", "type": ', headers={"content-type": "application/json"}
    )
    assert_problem(answer, 400, "malformed-json")


async def test_an_unknown_type_is_422_naming_the_known_ones(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    event = {**purchase(run_id, f"X-{run_id}", "O"), "type": "purchase.exploded"}
    body = assert_problem(await gateway.post("/v1/events", json=event), 422, "unknown-event-type")
    assert "purchase.completed" in body["detail"]
    await assert_never_created(gateway, f"X-{run_id}")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount_minor", -1, "greater than or equal to 0"),
        ("amount_minor", 12.5, "integer"),
        ("currency", "XYZ", "ISO 4217"),
        ("currency", "euro", "ISO 4217"),
    ],
)
async def test_bad_money_is_422_with_the_field_named(
    gateway: httpx.AsyncClient, run_id: str, field: str, value: Any, message: str
) -> None:
    event = purchase(run_id, f"X-{run_id}", "O")
    event["data"][field] = value
    body = assert_problem(await gateway.post("/v1/events", json=event), 422, "validation-failed")
    assert body["errors"][0]["field"] == f"data.{field}"
    assert message in body["errors"][0]["message"]
    await assert_never_created(gateway, f"X-{run_id}")


async def test_a_batch_of_501_is_refused_whole(gateway: httpx.AsyncClient, run_id: str) -> None:
    events = [purchase(f"{run_id}-{i}", f"X-{run_id}", f"O{i}") for i in range(501)]
    body = assert_problem(
        await gateway.post("/v1/events/batch", json={"events": events}), 413, "batch-too-large"
    )
    assert "500" in body["detail"]
    await assert_never_created(gateway, f"X-{run_id}")


async def test_one_bad_event_never_sinks_the_rest_of_a_batch(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    good = purchase(f"g-{run_id}", f"G-{run_id}", "O1")
    bad = purchase(f"b-{run_id}", f"X-{run_id}", "O2", amount_minor=-5)
    answer = await gateway.post("/v1/events/batch", json={"events": [bad, good]})

    assert answer.status_code == 202
    rejected, accepted = answer.json()["results"]
    assert rejected["status"] == "rejected" and rejected["event_id"] is None
    assert rejected["error"]["type"] == "urn:crm:problem:validation-failed"
    assert accepted["status"] == "accepted"
    await assert_never_created(gateway, f"X-{run_id}")
    assert await customer_360(gateway, f"G-{run_id}") is not None


async def test_an_unknown_customer_is_404(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.get("/v1/customers/00000000-0000-0000-0000-000000000000")
    assert_problem(answer, 404, "customer-not-found")
