"""Feedback's reads through the gateway: a customer's complaints with their SLA
deadline, and the tenant's satisfaction scores over a window of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import eventually


def _event(event_id: str, customer: str, kind: str, at: datetime, data: dict[str, Any]) -> dict:
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": at.isoformat(),
        "customer": {"source": "pos", "external_id": customer, "name": "Wang Fang"},
        "data": data,
    }


async def _customer_id(gateway: httpx.AsyncClient, external_id: str) -> str | None:
    found = await gateway.get(
        "/v1/customers/lookup", params={"source": "pos", "external_id": external_id}
    )
    return found.json()["customer_id"] if found.status_code == 200 else None


async def test_complaints_and_scores_are_read_through_the_gateway(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer, now = f"F-{run_id}", datetime.now(UTC).replace(microsecond=0)
    filing = {"complaint_ref": f"T-{run_id}", "severity": "low", "category": "billing",
              "channel": "email", "text": "Charged twice."}  # fmt: skip
    posted = await gateway.post(
        "/v1/events", json=_event(f"cf-{run_id}", customer, "complaint.filed", now, filing)
    )
    assert posted.status_code == 202
    # A window of this test's own, long past (yet within the ten years the gateway takes),
    # so other runs' answers stay out of it.
    start = now - timedelta(days=3000) + timedelta(minutes=int(run_id, 16) % 2_000_000)
    for n, (survey, score) in enumerate([("nps", 10), ("nps", 2), ("csat", 4), ("ces", 2)]):
        data, at = {"survey": survey, "score": score}, start + timedelta(seconds=n)
        answer = _event(f"s{n}-{run_id}", customer, "survey.responded", at, data)
        assert (await gateway.post("/v1/events", json=answer)).status_code == 202

    customer_id, _ = await eventually(lambda: _customer_id(gateway, customer), bool, within=10)
    page, _ = await eventually(
        lambda: gateway.get(f"/v1/customers/{customer_id}/complaints"),
        lambda r: r.status_code == 200 and len(r.json()["complaints"]) == 2,
        within=10,
    )
    # The filed complaint, and the recovery case the NPS 2 (a detractor's) opened.
    by_category = {c["category"]: c for c in page.json()["complaints"]}
    assert sorted(by_category) == ["billing", "detractor_recovery"]
    found = by_category["billing"]
    assert (found["complaint_ref"], found["status"], found["escalation_level"]) == (
        f"T-{run_id}",
        "open",
        0,
    )
    opened = datetime.fromisoformat(found["opened_at"])
    assert datetime.fromisoformat(found["due_at"]) - opened == timedelta(hours=72)

    window = {"from": start.isoformat(), "to": (start + timedelta(minutes=1)).isoformat()}
    scores, _ = await eventually(
        lambda: gateway.get("/v1/feedback/scores", params=window),
        lambda r: r.status_code == 200 and r.json()["ces"]["responses"] == 1,
        within=10,
    )
    nps, csat = scores.json()["nps"], scores.json()["csat"]
    assert nps | {"interval": None} == {
        "score": 0.0, "responses": 2, "promoters": 1, "passives": 0, "detractors": 1,
        "interval": None,
    }  # fmt: skip
    assert nps["interval"]["low"] < 0 < nps["interval"]["high"]
    assert (csat["average"], csat["satisfied_pct"], csat["responses"]) == (4.0, 100.0, 1)
    backwards = {"from": window["to"], "to": window["from"]}
    assert (await gateway.get("/v1/feedback/scores", params=backwards)).status_code == 422
    anonymous = await gateway.get("/v1/feedback/scores", headers={"Authorization": ""})
    assert anonymous.status_code == 401
