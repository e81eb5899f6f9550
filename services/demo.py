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


def _person_events(n: int) -> list[tuple[int, str, dict[str, Any]]]:
    """(day, type, data) of the n-th demo customer: the later ones have bought more."""
    ref, currency = _PEOPLE[n][0], _PEOPLE[n][4]
    story: list[tuple[int, str, dict[str, Any]]] = [
        (0, "customer.registered", {"channel": "web"}),
        (1, "engagement.recorded", {"kind": "visit", "channel": "web"}),
    ]
    for order in range(n):
        purchase = {
            "order_id": f"{ref}-O{order}",
            "amount_minor": 4999 + 2500 * order,
            "currency": currency,
            "channel": "store",
        }
        story.append((2 + 7 * order, "purchase.completed", purchase))
    if n == 3:
        complaint = {
            "complaint_ref": f"{ref}-T1",
            "severity": "high",
            "category": "delivery",
            "channel": "phone",
            "text": "Parcel arrived damaged.",
        }
        story.append((25, "complaint.filed", complaint))
        story.append((26, "survey.responded", {"survey": "nps", "score": 4}))
    return story


def demo_events(now: datetime) -> list[dict[str, Any]]:
    """A few customers at different points of their lifecycle."""
    events = []
    for n, (ref, name, email, phone, _) in enumerate(_PEOPLE):
        customer = {
            "source": "pos",
            "external_id": ref,
            "email": email,
            "phone": phone,
            "name": name,
        }
        start = now - timedelta(days=60 - 10 * n)
        for seq, (day, kind, data) in enumerate(_person_events(n)):
            events.append(
                {
                    "id": f"demo-{ref}-{seq}",
                    "type": kind,
                    "occurred_at": (start + timedelta(days=day)).isoformat(),
                    "customer": customer,
                    "data": data,
                }
            )
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
