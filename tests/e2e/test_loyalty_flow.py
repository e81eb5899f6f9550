"""Loyalty through the gateway: earn, redeem idempotently, read the ledger, refund;
the customer 360 follows every balance change."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase


async def test_earn_redeem_and_refund_move_the_ledger_and_the_360(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer = f"C-{run_id}"
    await gateway.post("/v1/events", json=purchase(f"p1-{run_id}", customer, f"O1-{run_id}"))
    view, _ = await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1299,
    )
    loyalty_path = f"/v1/customers/{view['customer_id']}/loyalty"

    body = {"points": 299, "reason": "voucher"}
    headers = {"Idempotency-Key": f"r-{run_id}"}
    first = await gateway.post(f"{loyalty_path}/redemptions", json=body, headers=headers)
    again = await gateway.post(f"{loyalty_path}/redemptions", json=body, headers=headers)
    missing_key = await gateway.post(f"{loyalty_path}/redemptions", json=body)
    too_many = await gateway.post(
        f"{loyalty_path}/redemptions", json={"points": 5000, "reason": "tv"},
        headers={"Idempotency-Key": f"big-{run_id}"},
    )  # fmt: skip

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and first.json()["points"] == -299
    assert missing_key.status_code == 422
    assert missing_key.headers["content-type"] == "application/problem+json"
    assert too_many.status_code == 409
    assert too_many.json()["type"] == "urn:crm:problem:insufficient-points"
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1000,
    )

    refund = {
        "id": f"rf-{run_id}", "type": "order.refunded",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": "pos", "external_id": customer},
        "data": {"order_id": f"O1-{run_id}", "amount_minor": 64950},
    }  # fmt: skip
    assert (await gateway.post("/v1/events", json=refund)).status_code == 202
    await eventually(
        lambda: customer_360(gateway, customer),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1000 - 649,
    )
    account = (await gateway.get(loyalty_path)).json()
    assert account["points_balance"] == 351 and account["next_expiry"]["points"] == 351
    ledger = (await gateway.get(f"{loyalty_path}/ledger", params={"limit": 2})).json()
    assert [(e["kind"], e["points"]) for e in ledger["entries"]] == [
        ("reverse", -649),
        ("redeem", -299),
    ]
    rest = await gateway.get(f"{loyalty_path}/ledger", params={"cursor": ledger["next_cursor"]})
    assert [(e["kind"], e["points"]) for e in rest.json()["entries"]] == [("earn", 1299)]
