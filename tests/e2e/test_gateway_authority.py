"""Authority at the gateway, over the local topology (real PostgreSQL and Kafka): what a
key may post (its sources, its event types, compensation), tenant-scoped sweeps, the desk's
complaint resolution, services that answer the gateway only, and forwarded headers."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import new_api_key
from shared.settings import ServiceSettings
from tests.e2e.conftest import ROOT, purchase
from tests.e2e.test_gateway_limits import client_from
from tests.e2e.test_gateway_limits import gateway as gateway_app


async def key_with(gateway: httpx.AsyncClient, **body: Any) -> httpx.Headers:
    created = await gateway.post(
        "/v1/admin/api-keys", json={"name": "k", "partner": "tills"} | body
    )
    assert created.status_code == 201, created.text
    return httpx.Headers({"Authorization": f"Bearer {created.json()['api_key']}"})


def resolved(event_id: str, external_id: str, points: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "complaint.resolved",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": "pos", "external_id": external_id},
        "data": {
            "complaint_ref": f"R-{event_id}",
            "resolution": "ok",
            "compensation_points": points,
        },
    }


def refund(event_id: str, external_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "order.refunded",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": "pos", "external_id": external_id},
        "data": {"order_id": "O-1", "amount_minor": 100},
    }


async def test_a_key_posts_only_for_its_sources_and_types(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    tills = await key_with(
        gateway,
        scopes=["events:write"],
        sources=["pos"],
        event_types=["purchase.completed", "complaint.resolved"],
    )
    as_web = purchase(f"w-{run_id}", f"W-{run_id}", "O-1")
    as_web["customer"]["source"] = "web"
    single = await gateway.post("/v1/events", json=as_web, headers=tills)
    batch = await gateway.post(
        "/v1/events/batch",
        json={
            "events": [
                purchase(f"p-{run_id}", f"P-{run_id}", "O-1"),
                as_web | {"id": f"w2-{run_id}"},
                refund(f"r-{run_id}", f"P-{run_id}"),
            ]
        },
        headers=tills,
    )
    assert single.status_code == 403
    assert single.json()["type"] == "urn:crm:problem:source-not-allowed"
    assert batch.status_code == 202
    results = batch.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert results[1]["error"]["type"] == "urn:crm:problem:source-not-allowed"
    assert results[2]["error"]["type"] == "urn:crm:problem:event-type-not-allowed"
    assert results[1]["error"]["status"] == 403

    async def found(source: str, external_id: str) -> int:
        params = {"source": source, "external_id": external_id}
        return (await gateway.get("/v1/customers/lookup", params=params)).status_code

    for _ in range(100):
        if await found("pos", f"P-{run_id}") == 200:
            break
        await asyncio.sleep(0.05)
    assert await found("pos", f"P-{run_id}") == 200
    assert await found("web", f"W-{run_id}") == 404  # the refused post never reached Kafka


async def test_compensation_needs_its_own_scope(gateway: httpx.AsyncClient, run_id: str) -> None:
    desk = await key_with(gateway, scopes=["events:write"], sources=["pos"])
    trusted = await key_with(
        gateway, scopes=["events:write", "loyalty:compensate"], sources=["pos"]
    )
    minted = await gateway.post(
        "/v1/events", json=resolved(f"a-{run_id}", run_id, 10**6), headers=desk
    )
    batch = await gateway.post(
        "/v1/events/batch",
        json={"events": [resolved(f"b-{run_id}", run_id, 500), resolved(f"c-{run_id}", run_id, 0)]},
        headers=desk,
    )
    granted = await gateway.post(
        "/v1/events", json=resolved(f"d-{run_id}", run_id, 500), headers=trusted
    )
    assert minted.status_code == 403
    assert "loyalty:compensate" in minted.json()["detail"]
    assert [r["status"] for r in batch.json()["results"]] == ["rejected", "accepted"]
    assert granted.status_code == 202


@pytest.mark.parametrize("area", ["lifecycle", "loyalty", "feedback"])
async def test_only_the_operator_sweeps_every_tenant(
    gateway: httpx.AsyncClient, run_id: str, area: str
) -> None:
    tenant_admin = await key_with(gateway, scopes=["admin"], tenant_id=f"acme-{run_id}")
    path = f"/v1/{area}/sweep"
    everyone = await gateway.post(path, params={"all_tenants": "true"}, headers=tenant_admin)
    own = await gateway.post(path, headers=tenant_admin)
    by_operator = await gateway.post(path, params={"all_tenants": "true"})
    assert everyone.status_code == 403
    assert everyone.json()["type"] == "urn:crm:problem:operator-only"
    assert own.status_code == 200, own.text
    assert by_operator.status_code == 200, by_operator.text


async def test_a_desk_resolves_with_its_scope_and_compensates_with_another(
    gateway: httpx.AsyncClient,
) -> None:
    desk = await key_with(gateway, scopes=["complaints:resolve"])
    trusted = await key_with(gateway, scopes=["complaints:resolve", "loyalty:compensate"])
    reader = await key_with(gateway, scopes=["customers:read"])
    path = f"/v1/customers/{uuid.uuid4()}/complaints/{uuid.uuid4()}/resolution"
    body = {"resolution": "Refunded", "compensation_points": 500}

    async def resolve(headers: httpx.Headers, sent: Any = body) -> httpx.Response:
        return await gateway.post(path, json=sent, headers=headers)

    assert (await resolve(reader)).status_code == 403
    assert (await resolve(desk)).status_code == 403
    assert (
        await resolve(desk, {"resolution": "ok", "compensation_points": "5"})
    ).status_code == 422
    assert (await resolve(desk, {"resolution": ""})).status_code == 422
    assert (await resolve(desk, body | {"goodwill": 1})).status_code == 422
    assert (await resolve(trusted)).status_code == 404  # forwarded: no such complaint
    assert (await resolve(desk, {"resolution": "ok"})).status_code == 404
    paths = (await gateway.get("/openapi.json")).json()["paths"]
    schema = paths["/v1/customers/{customer_id}/complaints/{complaint_id}/resolution"]["post"]
    assert "requestBody" in schema


async def test_a_service_answers_the_gateway_only(
    gateway: httpx.AsyncClient, topology: ServiceSettings
) -> None:
    profile = f"http://127.0.0.1:{topology.profile_port}/v1/customers/lookup"
    params = {"source": "pos", "external_id": "C-1"}
    async with httpx.AsyncClient(timeout=5) as direct:
        bare = await direct.get(profile, params=params, headers={"X-CRM-Tenant": "default"})
        forged = await direct.get(
            profile,
            params=params,
            headers={
                "X-CRM-Tenant": "default",
                "X-CRM-Internal-Timestamp": str(int(datetime.now(UTC).timestamp())),
                "X-CRM-Internal-Signature": "v1=" + "0" * 64,
            },
        )
    through_gateway = await gateway.get("/v1/customers/lookup", params=params)
    for refused in (bare, forged):
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert through_gateway.status_code in (200, 404), through_gateway.text


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Idempotency-Key", "clé-é".encode()),
        ("Idempotency-Key", b"k" * 500),
        ("content-type", "application/json; charset=é".encode()),
    ],
    ids=["non-ascii key", "long key", "non-ascii content-type"],
)
async def test_an_odd_forwarded_header_is_422_never_500(
    gateway: httpx.AsyncClient, header: str, value: bytes
) -> None:
    headers = {"Idempotency-Key": b"k-1", "content-type": b"application/json"} | {header: value}
    answer = await gateway.post(
        f"/v1/customers/{uuid.uuid4()}/loyalty/redemptions",
        content=b'{"points": 1, "reason": "gift"}',
        headers=headers,  # type: ignore[arg-type]
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_control_character_in_a_forwarded_header_is_422(tmp_path: Path) -> None:
    """The HTTP server refuses most control characters itself; one that reaches the app
    (here in-process) is refused before the call to the service is built."""
    admin = new_api_key()
    async with gateway_app(tmp_path, admin) as app, client_from(app, "192.0.2.9") as client:
        answer = await client.post(
            f"/v1/customers/{uuid.uuid4()}/loyalty/redemptions",
            json={"points": 1, "reason": "gift"},
            headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": "a\x7fb"},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "header.idempotency-key"


def test_starting_the_services_never_prints_the_key(topology: ServiceSettings) -> None:
    started = subprocess.run(
        [str(ROOT / "deploy/local/services.sh"), "start"],
        check=True,
        capture_output=True,
        text=True,
    )
    key = (ROOT / ".data" / "bootstrap-api-key").read_text().strip()
    assert key not in started.stdout + started.stderr
    assert "bootstrap-api-key (mode 600)" in started.stdout
    for kept in ("bootstrap-api-key", "internal-secret"):
        assert (ROOT / ".data" / kept).stat().st_mode & 0o777 == 0o600
    logs = "".join(p.read_text() for p in (ROOT / ".data" / "logs").glob("*.log"))
    assert key not in logs
