"""A small tenant for the dashboard's browser test: customers at several points of the
lifecycle, lapsed regulars worth different amounts (so the at-risk list has an order to
check), answers to surveys over the last weeks and an open complaint past its due time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

SCOPES = ["events:write", "customers:read", "admin"]
LAPSED = 6  # regulars who stopped buying: most at high risk, each worth another value
RECENT = 5  # customers who registered or bought lately


def _event(run: str, seq: str, kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """An event of customer ``seq``'s prefix (``L0-p3`` is customer L0's)."""
    ref = seq.split("-")[0]
    return {
        "id": f"dash-{run}-{seq}",
        "type": kind,
        "occurred_at": at.isoformat(),
        "customer": {"source": "pos", "external_id": f"D-{run}-{ref}", "name": f"Customer {ref}"},
        "data": data,
    }


def _purchase(run: str, seq: str, at: datetime, amount_minor: int) -> dict[str, Any]:
    order = {"order_id": seq, "amount_minor": amount_minor, "currency": "EUR", "channel": "store"}
    return _event(run, seq, "purchase.completed", at, order)


def lapsed_regulars(run: str, now: datetime) -> list[dict[str, Any]]:
    """Weekly buyers who stopped 150–250 days ago as detractors, each spending more than
    the last: their churn risk is high, and their value at risk differs."""
    events = []
    for i in range(LAPSED):
        stop = now - timedelta(days=150 + 20 * i)
        for k in range(8):
            events.append(
                _purchase(run, f"L{i}-p{k}", stop - timedelta(days=7 * k), 2_000 + 1_500 * i)
            )
        answer = {"survey": "nps", "score": i % 3}
        events.append(_event(run, f"L{i}-n", "survey.responded", stop, answer))
    return events


def recent(run: str, now: datetime) -> list[dict[str, Any]]:
    """Customers who registered or bought lately, their answers week by week, and an
    unhandled complaint filed ten days ago."""
    events = []
    for i in range(RECENT):
        registered = now - timedelta(days=20 + i)
        events.append(_event(run, f"R{i}-r", "customer.registered", registered, {"channel": "web"}))
        if i % 2:
            events.append(_purchase(run, f"R{i}-p", now - timedelta(days=3 + i), 4_000))
        week = now - timedelta(days=7 * i + 1)
        nps, csat = {"survey": "nps", "score": 3 + i}, {"survey": "csat", "score": 2 + i % 4}
        events.append(_event(run, f"R{i}-n", "survey.responded", week, nps))
        events.append(_event(run, f"R{i}-c", "survey.responded", week, csat))
    complaint = {
        "complaint_ref": f"{run}-T1",
        "severity": "high",
        "category": "delivery",
        "channel": "phone",
        "text": "Parcel arrived damaged.",
    }
    events.append(_event(run, "R0-t", "complaint.filed", now - timedelta(days=10), complaint))
    return events


async def seed(gateway: httpx.AsyncClient, run: str, now: datetime) -> str:
    """A fresh tenant's key, its history posted in one batch."""
    wanted = {"name": f"dashboard {run}", "partner": "pos", "scopes": SCOPES}
    created = await gateway.post(
        "/v1/admin/api-keys", json={**wanted, "sources": ["pos"], "tenant_id": f"dash-{run}"}
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["api_key"]
    events = lapsed_regulars(run, now) + recent(run, now)
    posted = await gateway.post(
        "/v1/events/batch", json={"events": events}, headers={"Authorization": f"Bearer {key}"}
    )
    assert posted.status_code == 202, posted.text
    assert all(r["status"] == "accepted" for r in posted.json()["results"]), posted.text
    return key
