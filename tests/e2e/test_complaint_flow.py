"""A complaint through the gateway, from filing to resolution: the 360 counts it open,
lifecycle gives the churn risk an ``open_complaint`` reason, and a resolution with
compensation closes it, takes the reason away and adds the points to the balance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

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
