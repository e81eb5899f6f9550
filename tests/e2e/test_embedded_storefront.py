"""A publishable key in a shop front, end to end in embedded mode: it reads its own
customer's loyalty (folded from a real purchase through every service) and invitations,
records a survey answer that reaches the 360, and cannot read another customer."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.embedded import embedded_client


async def test_a_publishable_key_reads_its_own_loyalty_and_no_one_elses(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as admin:
        for n in (1, 2):
            answer = await admin.post("/v1/events", json=purchase(f"p-{n}", f"S-{n}", f"O-{n}"))
            assert answer.status_code == 202
        mine, _ = await eventually(
            lambda: customer_360(admin, "S-1"), lambda v: v is not None, within=15
        )
        theirs, _ = await eventually(
            lambda: customer_360(admin, "S-2"), lambda v: v is not None, within=15
        )
        body = {"customer": {"source": "pos", "external_id": "S-1"}}
        minted = await admin.post("/v1/storefront/sessions", json=body)
        assert minted.status_code == 201, minted.text
        shop = {"Authorization": f"Bearer {minted.json()['publishable_key']}"}
        browser = httpx.AsyncClient(
            transport=admin._transport, base_url="http://embedded", headers=shop
        )
        async with browser:
            loyalty, _ = await eventually(
                lambda: browser.get("/v1/storefront/loyalty"),
                lambda a: a.status_code == 200 and a.json()["points_balance"] == 1299,
                within=15,
            )
            assert loyalty.json()["tier"] == "member"
            invitations = await browser.get("/v1/storefront/invitations")
            assert invitations.status_code == 200  # its CSAT invitation is due in a day
            assert invitations.json() == {"invitations": []}
            for path in (f"/v1/customers/{theirs['customer_id']}/loyalty",
                         f"/v1/customers/{theirs['customer_id']}",
                         f"/v1/customers/{mine['customer_id']}"):  # fmt: skip
                assert (await browser.get(path)).status_code == 403, path

            nps = {"id": "nps-1", "occurred_at": mine["updated_at"], "survey": "nps", "score": 9}
            answered = await browser.post("/v1/storefront/surveys", json=nps)
            assert answered.status_code == 202, answered.text
        await eventually(
            lambda: customer_360(admin, "S-1"),
            lambda v: v is not None and v["feedback"]["last_nps"] == 9,
            within=15,
        )
