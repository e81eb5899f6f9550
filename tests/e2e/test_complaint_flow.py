"""A complaint through the gateway, from filing to resolution: the 360 counts it open,
lifecycle gives the churn risk an ``open_complaint`` reason, and a resolution with
compensation closes it, takes the reason away and adds the points to the balance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from shared.settings import ServiceSettings
from tests.e2e.conftest import customer_360, eventually, purchase


def _complaint(event_id: str, customer: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": "pos", "external_id": customer},
        "data": data,
    }


def _reasons(view: dict[str, Any] | None) -> list[str]:
    risk = (view or {}).get("churn_risk") or {}
    return [r["code"] for r in risk.get("reasons", [])]


async def test_a_resolved_complaint_closes_in_the_360_lowers_the_risk_and_compensates(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer, ref = f"C-{run_id}", f"T-{run_id}"
    await gateway.post("/v1/events", json=purchase(f"p-{run_id}", customer, f"O-{run_id}"))
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1299 and _reasons(v),
    )

    filing = {"complaint_ref": ref, "severity": "high", "category": "delivery",
              "channel": "phone", "text": "Arrived broken."}  # fmt: skip
    filed = await gateway.post(
        "/v1/events", json=_complaint(f"cf-{run_id}", customer, "complaint.filed", filing)
    )
    assert filed.status_code == 202
    goodwill = 200  # rules.toml: a high-severity complaint earns goodwill on opening
    opened, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: (
            v["feedback"]["open_complaints"] == 1
            and "open_complaint" in _reasons(v)
            and v["loyalty"]["points_balance"] == 1299 + goodwill
        ),
        within=10,
    )

    resolution = {"complaint_ref": ref, "resolution": "Replaced.", "compensation_points": 500}
    answer = await gateway.post(
        "/v1/events", json=_complaint(f"cr-{run_id}", customer, "complaint.resolved", resolution)
    )
    assert answer.status_code == 202
    closed, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: (
            v["feedback"]["open_complaints"] == 0
            and "open_complaint" not in _reasons(v)
            and v["loyalty"]["points_balance"] == 1299 + goodwill + 500
        ),
        within=10,
    )
    assert closed["churn_risk"]["score"] < opened["churn_risk"]["score"]
    loyalty = f"/v1/customers/{closed['customer_id']}/loyalty/ledger"
    ledger = (await gateway.get(loyalty)).json()["entries"]
    assert [(e["kind"], e["points"]) for e in ledger if e["ref"].startswith("compensation:")] == [
        ("adjust", 500)
    ]


async def test_only_the_filing_partner_or_a_desk_resolves_a_complaint(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    """Another partner's resolution, even with compensation rights, changes nothing; the
    desk's resolution through the gateway closes the complaint and grants its points."""
    customer, ref = f"D-{run_id}", f"TD-{run_id}"
    await gateway.post("/v1/events", json=purchase(f"p-{run_id}", customer, f"O-{run_id}"))
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1299,
    )
    filing = {"complaint_ref": ref, "severity": "low", "category": "delivery",
              "channel": "phone", "text": "Late."}  # fmt: skip
    await gateway.post(
        "/v1/events", json=_complaint(f"cf-{run_id}", customer, "complaint.filed", filing)
    )
    opened, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["feedback"]["open_complaints"] == 1,
        within=10,
    )
    not_filer_before = await _dropped_not_filer(gateway)
    intruder = await _key(gateway, "intruder", ["events:write", "loyalty:compensate"])
    taken = {"complaint_ref": ref, "resolution": "Closed by me.", "compensation_points": 9000}
    answer = await gateway.post(
        "/v1/events",
        json=_complaint(f"x-{run_id}", customer, "complaint.resolved", taken),
        headers=intruder,
    )
    assert answer.status_code == 202  # accepted at the edge; feedback refuses to apply it
    await eventually(lambda: _dropped_not_filer(gateway), lambda n: n > not_filer_before)
    complaints_path = f"/v1/customers/{opened['customer_id']}/complaints"
    desk = await _key(gateway, "desk", ["complaints:resolve", "loyalty:compensate"])
    [still_open] = (await gateway.get(complaints_path)).json()["complaints"]
    assert still_open["status"] == "open"

    resolution = f"{complaints_path}/{still_open['complaint_id']}/resolution"
    done = await gateway.post(
        resolution, json={"resolution": "Apologised.", "compensation_points": 300}, headers=desk
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"
    again = await gateway.post(resolution, json={"resolution": "Twice."}, headers=desk)
    assert again.status_code == 409
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: (
            v["feedback"]["open_complaints"] == 0
            and v["loyalty"]["points_balance"] == 1299 + 300  # a low complaint earns no goodwill
        ),
        within=10,
    )
    [listed] = (await gateway.get(complaints_path)).json()["complaints"]
    assert listed["resolved_by"] == "desk"


async def _key(gateway: httpx.AsyncClient, partner: str, scopes: list[str]) -> dict[str, str]:
    created = await gateway.post(
        "/v1/admin/api-keys",
        json={"name": partner, "partner": partner, "scopes": scopes, "sources": ["pos"]},
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['api_key']}"}


async def _dropped_not_filer(gateway: httpx.AsyncClient) -> float:
    """Feedback's count of resolutions dropped because another partner sent them."""
    port = ServiceSettings().feedback_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as feedback:
        text = (await feedback.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('crm_feedback_resolutions_dropped_total{reason="not_filer"}')
    )
