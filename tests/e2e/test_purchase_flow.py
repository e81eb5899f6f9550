"""A purchase posted to the gateway moves stage and points in other processes."""

from __future__ import annotations

import asyncio

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase


async def test_first_purchase_shows_new_customer_with_points_within_5_seconds(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    posted = await gateway.post(
        "/v1/events", json=purchase(f"p1-{run_id}", f"C-{run_id}", f"O1-{run_id}")
    )
    assert posted.status_code == 202
    assert posted.json()["status"] == "accepted"

    view, _ = await eventually(
        lambda: customer_360(gateway, f"C-{run_id}"),
        lambda v: (
            v is not None and v["stage"] == "new_customer" and v["loyalty"]["points_balance"] > 0
        ),
    )
    assert view["loyalty"]["points_balance"] == 1299
    assert view["stats"] == {
        **view["stats"],
        "orders": 1,
        "revenue_minor": 129900,
        "currency": "CNY",
    }


async def test_second_purchase_moves_the_customer_to_active(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer = f"C-{run_id}"
    await gateway.post("/v1/events", json=purchase(f"p1-{run_id}", customer, f"O1-{run_id}"))
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["stage"] == "new_customer",
    )

    await gateway.post("/v1/events", json=purchase(f"p2-{run_id}", customer, f"O2-{run_id}", 5000))

    view, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v["stage"] == "active" and v["loyalty"]["points_balance"] == 1299 + 50,
    )
    lifecycle = (await gateway.get(f"/v1/customers/{view['customer_id']}/lifecycle")).json()
    assert [(h["from"], h["to"]) for h in lifecycle["history"]] == [
        (None, "new_customer"),
        ("new_customer", "active"),
    ]


async def test_posting_the_same_event_id_twice_changes_nothing(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer = f"C-{run_id}"
    event = purchase(f"p1-{run_id}", customer, f"O1-{run_id}")
    first = await gateway.post("/v1/events", json=event)
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["loyalty"]["points_balance"] > 0,
    )
    before = await customer_360(gateway, customer)

    again = await gateway.post("/v1/events", json=event)
    in_batch = await gateway.post("/v1/events/batch", json={"events": [event, event]})

    assert again.status_code == 202
    assert again.json() == {"event_id": first.json()["event_id"], "status": "duplicate"}
    assert [r["status"] for r in in_batch.json()["results"]] == ["duplicate", "duplicate"]
    await asyncio.sleep(1.5)  # time enough for a wrongly accepted copy to flow through
    after = await customer_360(gateway, customer)
    assert after == before
    assert after is not None and after["stats"]["orders"] == 1


async def test_a_batch_flows_through_like_single_events(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    events = [
        purchase(f"b{i}-{run_id}", f"B{i}-{run_id}", f"OB{i}-{run_id}", 1000) for i in range(20)
    ]
    answer = await gateway.post("/v1/events/batch", json={"events": events})
    assert answer.status_code == 202
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}

    for i in range(20):
        view, _ = await eventually(
            lambda i=i: customer_360(gateway, f"B{i}-{run_id}"),
            lambda v: v is not None and v["stage"] is not None and v["loyalty"]["points_balance"],
        )
        assert view["stage"] == "new_customer"
        assert view["loyalty"]["points_balance"] == 10


async def test_a_known_customer_takes_the_newest_contact_details_from_its_own_source(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer = f"C-{run_id}"
    first = purchase(f"p1-{run_id}", customer, f"O1-{run_id}")
    phone = f"+45{int(run_id, 16) % 10**8:08d}"  # unique, so no merge candidate is opened
    first["customer"] |= {"email": f"old-{run_id}@example.com", "phone": phone}
    await gateway.post("/v1/events", json=first)
    await eventually(lambda: customer_360(gateway, customer), lambda v: v is not None)

    second = purchase(f"p2-{run_id}", customer, f"O2-{run_id}")
    second["customer"] |= {"email": f"New-{run_id}@Example.com", "name": "Wei Li"}
    await gateway.post("/v1/events", json=second)

    view, _ = await eventually(
        lambda: customer_360(gateway, customer), lambda v: v["stats"]["orders"] == 2
    )
    assert view["email"] == f"new-{run_id}@example.com"
    assert view["name"] == "Wei Li"
    assert view["phone"] == phone  # not sent again: kept
