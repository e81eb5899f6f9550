"""Ingestion's edges on the local topology (real PostgreSQL and Kafka): an event too
large to publish is refused before it is stored, and of two events with one id in a
batch, the first is the one that reaches the customer."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events.envelope import MAX_ENVELOPE_BYTES
from tests.e2e.conftest import customer_360, eventually, purchase


def oversized(event_id: str, external_id: str) -> dict[str, Any]:
    """A purchase within every field's bound whose wrapped event passes the budget."""
    event = purchase(event_id, external_id, f"O-{event_id}")
    event["data"]["items"] = [
        {"sku": f"S-{i}-" + "x" * 120, "amount_minor": 1, "category": "c" * 64} for i in range(300)
    ]
    return event


async def test_an_event_past_the_budget_is_413_alone_and_rejected_alone_in_a_batch(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    single = await gateway.post("/v1/events", json=oversized(f"big-{run_id}", f"B-{run_id}"))
    batch = await gateway.post(
        "/v1/events/batch",
        json={
            "events": [
                oversized(f"big2-{run_id}", f"B-{run_id}"),
                purchase(f"ok-{run_id}", f"K-{run_id}", "O-1"),
            ]
        },
    )

    assert single.status_code == 413, single.text
    assert single.json()["type"] == "urn:crm:problem:event-too-large"
    assert str(MAX_ENVELOPE_BYTES) in single.json()["detail"]
    rejected, accepted = batch.json()["results"]
    assert rejected["status"] == "rejected"
    assert rejected["error"]["type"] == "urn:crm:problem:event-too-large"
    assert accepted["status"] == "accepted"
    await eventually(lambda: customer_360(gateway, f"K-{run_id}"), lambda v: v is not None)
    assert await customer_360(gateway, f"B-{run_id}") is None


async def test_a_five_mib_registration_is_refused_not_accepted(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    event = {
        "id": f"reg-{run_id}",
        "type": "customer.registered",
        "occurred_at": purchase("x", "x", "x")["occurred_at"],
        "customer": {"source": "pos", "external_id": f"R-{run_id}"},
        "data": {"channel": "web", "attributes": {"blob": "x" * (5 * 1024 * 1024)}},
    }

    answer = await gateway.post("/v1/events", json=event)

    assert answer.status_code == 422, answer.status_code
    assert [e["field"] for e in answer.json()["errors"]] == ["data.attributes.blob"]


async def test_the_first_of_two_events_with_one_id_in_a_batch_is_the_one_stored(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    first = purchase(f"dup-{run_id}", f"D-{run_id}", "O-1", amount_minor=10000)
    second = purchase(f"dup-{run_id}", f"D-{run_id}", "O-2", amount_minor=99000)

    answer = await gateway.post("/v1/events/batch", json={"events": [first, second]})

    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "duplicate"]
    view, _ = await eventually(
        lambda: customer_360(gateway, f"D-{run_id}"),
        lambda v: v is not None and v["stats"]["orders"] and v["loyalty"]["points_balance"],
    )
    assert view["stats"]["orders"] == 1
    assert view["stats"]["revenue_minor"] == 10000
    assert view["loyalty"]["points_balance"] == 100
