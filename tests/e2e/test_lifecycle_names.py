"""Lifecycle's customer lists through the gateway carry each customer's name, read from
profile once per page (lifecycle never holds names)."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import eventually, purchase
from tests.e2e.test_satisfaction_channels import _tenant


async def test_a_page_of_customers_carries_their_names(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    tenant = await _tenant(gateway, f"n{run_id}")
    people = {"N-1": "Li Wei", "N-2": "Wang Fang"}
    for n, (external_id, name) in enumerate(people.items()):
        bought = purchase(f"n{n}-{run_id}", external_id, f"O-{n}")
        bought["customer"]["name"] = name
        assert (await gateway.post("/v1/events", json=bought, headers=tenant)).status_code == 202

    page, _ = await eventually(
        lambda: gateway.get("/v1/lifecycle/customers", params={"limit": 10}, headers=tenant),
        lambda r: r.status_code == 200 and len(r.json()["items"]) == 2,
        within=20,
    )

    assert sorted(item["name"] for item in page.json()["items"]) == ["Li Wei", "Wang Fang"]
    ranked = await gateway.get(
        "/v1/lifecycle/customers", params={"order": "value_at_risk"}, headers=tenant
    )
    assert ranked.status_code == 200
    assert all(item["name"] in people.values() for item in ranked.json()["items"])
