"""Demo data for embedded mode, posted through the gateway like any partner would.

The ids are fixed, so seeding again on the next start is answered "duplicate".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

_PEOPLE = [
    ("C-1001", "Li Wei", "li.wei@example.com", "+8613800000000", "CNY"),
    ("C-1002", "Amara Okafor", "amara@example.com", "+2348012345678", "EUR"),
    ("C-1003", "João Silva", "joao@example.com", "+5511912345678", "EUR"),
    ("C-1004", "Mia Jensen", "mia@example.com", "+4520123456", "DKK"),
]


def demo_events(now: datetime) -> list[dict[str, Any]]:
    """A few customers at different points of their lifecycle."""
    events: list[dict[str, Any]] = []
    for n, (ref, name, email, phone, currency) in enumerate(_PEOPLE):
        customer = {"source": "pos", "external_id": ref, "email": email, "phone": phone, "name": name}
        start = now - timedelta(days=60 - 10 * n)

        def add(kind: str, days: int, data: dict[str, Any], ref: str = ref) -> None:
            at = (start + timedelta(days=days)).isoformat()
            events.append(
                {"id": f"demo-{ref}-{len(events)}", "type": kind, "occurred_at": at, "customer": customer, "data": data}
            )

        add("customer.registered", 0, {"channel": "web"})
        add("engagement.recorded", 1, {"kind": "visit", "channel": "web"})
        for order in range(n):
            amount = 4999 + 2500 * order
            add("purchase.completed", 2 + 7 * order, {"order_id": f"{ref}-O{order}", "amount_minor": amount, "currency": currency, "channel": "store"})
        if n == 3:
            add("complaint.filed", 25, {"complaint_ref": f"{ref}-T1", "severity": "high", "category": "delivery", "channel": "phone", "text": "Parcel arrived damaged."})
            add("survey.responded", 26, {"survey": "nps", "score": 4})
    return events


async def seed_demo_data(gateway: FastAPI, api_key: str) -> None:
    """Post the demo events to the gateway in one batch."""
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://embedded") as client:
        answer = await client.post(
            "/v1/events/batch",
            json={"events": demo_events(datetime.now(UTC))},
            headers={"Authorization": f"Bearer {api_key}"},
        )
        answer.raise_for_status()
