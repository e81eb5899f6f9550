"""Tenants see their own customers only: another tenant's customer is a 404, never a leak."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase


async def _key_for(gateway: httpx.AsyncClient, tenant: str) -> str:
    created = await gateway.post(
        "/v1/admin/api-keys",
        json={
            "name": f"{tenant} shop",
            "partner": "shop",
            "scopes": ["events:write", "customers:read", "admin"],
            "sources": ["pos"],
            "tenant_id": tenant,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["tenant_id"] == tenant
    return created.json()["api_key"]  # type: ignore[no-any-return]


async def test_a_tenant_never_sees_another_tenants_customer(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    acme = httpx.Headers({"Authorization": f"Bearer {await _key_for(gateway, f'acme-{run_id}')}"})
    posted = await gateway.post(
        "/v1/events", json=purchase(f"t-{run_id}", f"T-{run_id}", f"O-{run_id}"), headers=acme
    )
    assert posted.status_code == 202

    async def as_acme() -> dict | None:  # type: ignore[type-arg]
        found = await gateway.get(
            "/v1/customers/lookup",
            params={"source": "pos", "external_id": f"T-{run_id}"},
            headers=acme,
        )
        return found.json() if found.status_code == 200 else None

    found, _ = await eventually(as_acme, lambda v: v is not None)
    customer = found["customer_id"]

    assert (await gateway.get(f"/v1/customers/{customer}", headers=acme)).status_code == 200
    assert (await gateway.get(f"/v1/customers/{customer}")).status_code == 404
    assert (await gateway.get(f"/v1/customers/{customer}/lifecycle")).status_code == 404
    assert await customer_360(gateway, f"T-{run_id}") is None


async def test_only_the_operator_creates_keys_for_other_tenants(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    acme_admin = await _key_for(gateway, f"acme-{run_id}")
    answer = await gateway.post(
        "/v1/admin/api-keys",
        json={"name": "x", "partner": "shop", "scopes": ["admin"], "tenant_id": "default"},
        headers={"Authorization": f"Bearer {acme_admin}"},
    )
    assert answer.status_code == 403
    assert answer.json()["type"] == "urn:crm:problem:foreign-tenant"
