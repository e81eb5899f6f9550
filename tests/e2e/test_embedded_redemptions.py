"""The twin, in embedded mode (SQLite), of the PostgreSQL test of concurrent redemptions
(tests/integration/test_loyalty_service.py): SQLite transactions must be real, so the
account lock, the idempotency lookup and the balance sum see every earlier redemption."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.embedded import embedded_client


async def test_50_concurrent_redemptions_on_sqlite_never_overdraw(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        answer = await client.post("/v1/events", json=purchase("p-1", "R-1", "O-1", 100000))
        assert answer.status_code == 202
        view, _ = await eventually(
            lambda: customer_360(client, "R-1"),
            lambda v: v is not None and v["loyalty"]["points_balance"] == 1000,
            within=15,
        )
        path = f"/v1/customers/{view['customer_id']}/loyalty"

        def redeem(i: int) -> asyncio.Future[httpx.Response]:
            return client.post(  # type: ignore[return-value]
                f"{path}/redemptions",
                json={"points": 30, "reason": "gift"},
                headers={"Idempotency-Key": f"k-{i}"},
            )

        answers = await asyncio.gather(*(redeem(i) for i in range(50)))

        statuses = sorted(a.status_code for a in answers)
        accepted = [a for a in answers if a.status_code == 201]
        refused = [a for a in answers if a.status_code == 409]
        assert len(accepted) == 33, statuses  # 33 × 30 = 990 ≤ 1000 < 34 × 30
        assert len(refused) == 17, statuses
        assert all(a.json()["type"] == "urn:crm:problem:insufficient-points" for a in refused)
        assert (await client.get(path)).json()["points_balance"] == 10
        ledger = (await client.get(f"{path}/ledger", params={"limit": 500})).json()["entries"]
        assert sum(e["points"] for e in ledger) == 10
