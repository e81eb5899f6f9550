"""Rules per tenant through the gateway, in embedded mode: two tenants with different
loyalty programmes earn differently from the same purchase; a rule file with an error is
422 naming it and the rules in force stay; each change is audited once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from services.lifecycle.settings import DEFAULT_CONFIG
from services.loyalty.settings import SHIPPED_RULES
from tests.e2e.conftest import eventually, purchase
from tests.e2e.embedded import embedded_client

TRIPLE = SHIPPED_RULES.read_text().replace(
    "default_points_per_unit = 1 ", "default_points_per_unit = 3 "
)


async def points(client: httpx.AsyncClient, key: str, external_id: str) -> int | None:
    """The points of the tenant's customer (None until the purchase reached loyalty)."""
    auth = {"Authorization": f"Bearer {key}"}
    found = await client.get(
        "/v1/customers/lookup", params={"source": "pos", "external_id": external_id}, headers=auth
    )
    if found.status_code == 404:
        return None
    account = await client.get(f"/v1/customers/{found.json()['customer_id']}", headers=auth)
    balance: int = account.json()["loyalty"]["points_balance"]
    return balance or None


async def tenant_admin(client: httpx.AsyncClient, tenant: str) -> str:
    body: dict[str, Any] = {
        "name": "brand admin", "partner": "pos", "tenant_id": tenant, "sources": ["pos"],
        "scopes": ["admin", "events:write", "customers:read"],
    }  # fmt: skip
    created = await client.post("/v1/admin/api-keys", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["api_key"])


async def test_two_tenants_earn_by_their_own_programmes(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        default_key = client.headers["Authorization"].removeprefix("Bearer ")
        brand = await tenant_admin(client, "brand-b")
        auth = {"Authorization": f"Bearer {brand}"}
        changed = await client.put("/v1/admin/rules/loyalty", json={"rules": TRIPLE}, headers=auth)
        assert changed.status_code == 200, changed.text
        for key in (default_key, brand):
            posted = await client.post(
                "/v1/events",
                json=purchase("p-1", "C-1", "O-1", 100000),
                headers={"Authorization": f"Bearer {key}"},
            )
            assert posted.status_code == 202, posted.text
        earned = {}
        for name, key in (("default", default_key), ("brand-b", brand)):
            earned[name], _ = await eventually(
                lambda key=key: points(client, key, "C-1"), lambda p: p is not None, within=15
            )
        own = (await client.get("/v1/admin/rules/loyalty", headers=auth)).json()
        installation = (await client.get("/v1/admin/rules/loyalty")).json()
        audited = await client.get("/v1/audit", params={"target": "rules:loyalty"}, headers=auth)

    assert earned == {"default": 1000, "brand-b": 3000}
    assert (own["source"], own["version"], own["rules"]) == ("tenant", 1, TRIPLE)
    assert own["changed_by"].startswith("api-key:")
    assert (installation["source"], installation["version"]) == ("installation", 0)
    assert installation["rules"] == SHIPPED_RULES.read_text()
    [entry] = audited.json()["entries"]
    assert entry["action"] == "rules.changed"
    assert entry["change"] == {"before": {"version": 0}, "after": {"version": 1}}


async def test_a_rule_file_with_an_error_is_refused_naming_it_and_the_old_rules_stay(
    tmp_path: Path,
) -> None:
    broken_loyalty = TRIPLE.replace("qualification_days = 365", "qualification_days = -5")
    broken_lifecycle = DEFAULT_CONFIG.read_text() + "\n[nonsense\n"
    async with embedded_client(tmp_path) as client:
        first = await client.put("/v1/admin/rules/loyalty", json={"rules": TRIPLE})
        refused = await client.put("/v1/admin/rules/loyalty", json={"rules": broken_loyalty})
        still = (await client.get("/v1/admin/rules/loyalty")).json()
        not_toml = await client.put("/v1/admin/rules/lifecycle", json={"rules": broken_lifecycle})
        lifecycle = (await client.get("/v1/admin/rules/lifecycle")).json()
        unknown = await client.get("/v1/admin/rules/pricing")
        audited = (await client.get("/v1/audit", params={"target": "rules:loyalty"})).json()

    assert first.status_code == 200
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:crm:problem:invalid-rules"
    assert "loyalty rules of tenant default" in problem["detail"]
    assert "qualification_days" in problem["detail"]
    assert (still["version"], still["rules"]) == (1, TRIPLE)
    assert not_toml.status_code == 422 and "is not valid TOML" in not_toml.json()["detail"]
    assert lifecycle["source"] == "installation"
    assert unknown.status_code == 422
    assert len(audited["entries"]) == 1  # the refused change decided nothing
