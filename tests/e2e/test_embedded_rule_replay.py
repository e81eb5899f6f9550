"""A rule change tried on history through the gateway, in embedded mode (issue 9,
item 3): the replay job validates the candidate as PUT does, runs one at a time per
tenant and kind, reports the difference, is audited, and switches nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from services.loyalty.settings import SHIPPED_RULES
from tests.e2e.conftest import eventually, purchase
from tests.e2e.embedded import embedded_client
from tests.e2e.test_embedded_tenant_rules import TRIPLE, points

REPLAYS = "/v1/admin/rules/loyalty/replays"


async def _job(client: httpx.AsyncClient, replay_id: str) -> dict[str, Any]:
    answer = await client.get(f"{REPLAYS}/{replay_id}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


async def test_a_tripled_earning_rate_tried_on_history_triples_the_points_issued(
    tmp_path: Path,
) -> None:
    async with embedded_client(tmp_path) as client:
        key = client.headers["Authorization"].removeprefix("Bearer ")
        for n, amount in ((1, 100000), (2, 50000)):
            posted = await client.post(
                "/v1/events", json=purchase(f"p-{n}", f"C-{n}", f"O-{n}", amount)
            )
            assert posted.status_code == 202, posted.text
        for n in (1, 2):
            await eventually(lambda n=n: points(client, key, f"C-{n}"), lambda p: p, within=15)

        started = await client.post(REPLAYS, json={"rules": TRIPLE})
        again = await client.post(REPLAYS, json={"rules": TRIPLE})
        replay_id = started.json()["id"]
        job, _ = await eventually(
            lambda: _job(client, replay_id), lambda j: j["state"] != "running", within=60
        )
        in_force = (await client.get("/v1/admin/rules/loyalty")).json()
        balance = await points(client, key, "C-1")
        audited = await client.get("/v1/audit", params={"target": "rules:loyalty"})

    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running"
    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("replay-running")
    assert job["state"] == "done", job
    diff = job["diff"]
    assert diff["counts"]["points_issued"] == {"total": {"before": 1500, "after": 4500}}
    assert diff["rules_changed"] == ["earning.default_points_per_unit 1→3"]
    assert diff["customers_changed"] == 2 and len(diff["sample"]) == 2
    assert (in_force["source"], in_force["version"]) == ("installation", 0)  # nothing switched
    assert balance == 1000  # the live ledger as it was
    [entry] = audited.json()["entries"]
    assert (entry["action"], entry["change"]["after"]) == ("rules.replayed", {"replay": replay_id})


async def test_a_candidate_with_an_error_is_refused_naming_it(tmp_path: Path) -> None:
    broken = SHIPPED_RULES.read_text().replace(
        "default_points_per_unit = 1 ", "default_points_per_unit = -1 "
    )
    async with embedded_client(tmp_path) as client:
        refused = await client.post(REPLAYS, json={"rules": broken})
        unknown = await client.get(f"{REPLAYS}/00000000-0000-4000-8000-000000000000")
        audited = await client.get("/v1/audit", params={"target": "rules:loyalty"})

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "default_points_per_unit" in refused.json()["detail"]
    assert unknown.status_code == 404, unknown.text
    assert audited.json()["entries"] == []
