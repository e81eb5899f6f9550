"""Manual points adjustments through the gateway, in embedded mode (SQLite): a credit and
a debit recorded with the deciding key, a repeat answering the first answer (and
audited once), the same key with another body, the caps, a debit past the balance, a
key without ``loyalty:adjust`` and bad bodies all refused with a problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.embedded import embedded_client
from tests.e2e.test_embedded_audit import audit_entries

PROBLEM = "urn:crm:problem:"


async def bought(client: httpx.AsyncClient, external_id: str) -> str:
    """A customer with 1,000 points from one purchase."""
    posted = await client.post(
        "/v1/events", json=purchase(f"p-{external_id}", external_id, "O-1", 100000)
    )
    assert posted.status_code == 202, posted.text
    view, _ = await eventually(
        lambda: customer_360(client, external_id),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1000,
        within=15,
    )
    return str(view["customer_id"])


async def adjust(
    client: httpx.AsyncClient, customer: str, body: Any, key: str | None, **headers: str
) -> httpx.Response:
    sent = headers | ({"Idempotency-Key": key} if key is not None else {})
    return await client.post(
        f"/v1/customers/{customer}/loyalty/adjustments", json=body, headers=sent
    )


async def balance(client: httpx.AsyncClient, customer: str) -> int:
    found = await client.get(f"/v1/customers/{customer}/loyalty")
    assert found.status_code == 200, found.text
    points: int = found.json()["points_balance"]
    return points


async def test_credit_debit_repeat_caps_and_refusals_through_the_gateway(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        customer = await bought(client, "M-1")
        me = (await client.get("/v1/admin/api-keys")).json()["keys"][0]["key_id"]

        credit = await adjust(client, customer, {"points": 500, "reason": "lost receipt"}, "adj-1")
        assert credit.status_code == 201, credit.text
        answer = credit.json()
        assert answer["points"] == 500 and answer["balance_after"] == 1500
        assert (answer["kind"], answer["ref"]) == ("adjust", "adjustment:adj-1")
        assert answer["reason"] == "lost receipt" and answer["adjusted_by"] == f"api-key:{me}"
        again = await adjust(client, customer, {"points": 500, "reason": "lost receipt"}, "adj-1")
        assert (again.status_code, again.json()) == (201, answer)
        other = await adjust(client, customer, {"points": 501, "reason": "lost receipt"}, "adj-1")
        assert (other.status_code, other.json()["type"]) == (
            409,
            PROBLEM + "idempotency-key-reused",
        )

        debit = await adjust(client, customer, {"points": -300, "reason": "double credit"}, "adj-2")
        assert debit.status_code == 201, debit.text
        assert (debit.json()["points"], debit.json()["balance_after"]) == (-300, 1200)
        assert await balance(client, customer) == 1200
        ledger = (await client.get(f"/v1/customers/{customer}/loyalty/ledger")).json()["entries"]
        manual = {
            e["ref"]: (e["kind"], e["points"], e["rule"]) for e in ledger if e["kind"] == "adjust"
        }
        assert manual == {
            "adjustment:adj-1": ("adjust", 500, "manual:lost receipt"),
            "adjustment:adj-2": ("adjust", -300, "manual:double credit"),
        }

        short = await adjust(client, customer, {"points": -1201, "reason": "wrong"}, "adj-3")
        assert (short.status_code, short.json()["type"]) == (409, PROBLEM + "insufficient-points")
        assert short.json()["balance"] == 1200
        over = await adjust(client, customer, {"points": 10001, "reason": "big"}, "adj-4")
        assert (over.status_code, over.json()["type"]) == (409, PROBLEM + "adjustment-cap")
        assert over.json()["allowed"] == 10000 and "at most 10000" in over.json()["detail"]
        for i in range(4):  # 500 + 4 × 10,000 credited; 9,500 left of 50,000
            filled = await adjust(client, customer, {"points": 10000, "reason": "fill"}, f"f-{i}")
            assert filled.status_code == 201, filled.text
        capped = await adjust(client, customer, {"points": 9501, "reason": "more"}, "adj-5")
        assert (capped.status_code, capped.json()["allowed"]) == (409, 9500)
        assert "at most 9500 more points" in capped.json()["detail"]
        assert await balance(client, customer) == 41200

        entries = await audit_entries(client, target=f"customer:{customer}")
        adjusted = [e for e in entries if e["action"] == "loyalty.adjusted"]
        assert len(adjusted) == 6  # adj-1 (twice: one decision), adj-2, f-0..f-3; refusals none
        first = next(e for e in adjusted if e["change"]["after"]["reason"] == "lost receipt")
        assert first["change"]["after"] == {"points": 500, "reason": "lost receipt"}
        assert first["actor_key_id"] == me


async def test_a_key_without_loyalty_adjust_is_refused(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        customer = await bought(client, "M-2")
        created = await client.post(
            "/v1/admin/api-keys",
            json={"name": "till", "partner": "pos", "scopes": ["loyalty:write", "customers:read"]},
        )
        assert created.status_code == 201, created.text
        writer = {"Authorization": f"Bearer {created.json()['api_key']}"}
        body = {"points": 100, "reason": "goodwill"}

        refused = await adjust(client, customer, body, "adj-1", **writer)

        assert (refused.status_code, refused.json()["type"]) == (
            403,
            PROBLEM + "insufficient-scope",
        )
        assert "loyalty:adjust" in refused.json()["detail"]
        assert await balance(client, customer) == 1000
        granted = await client.post(
            "/v1/admin/api-keys",
            json={"name": "desk", "partner": "desk", "scopes": ["loyalty:adjust"]},
        )
        desk = {"Authorization": f"Bearer {granted.json()['api_key']}"}
        assert (await adjust(client, customer, body, "adj-1", **desk)).status_code == 201


@pytest.mark.parametrize(
    ("body", "key", "field"),
    [
        ({"points": 0, "reason": "nothing"}, "k", "points"),
        ({"points": 0.0, "reason": "nothing"}, "k", "points"),
        ({"points": "5", "reason": "text"}, "k", "points"),
        ({"points": 5, "reason": ""}, "k", "reason"),
        ({"points": 5, "reason": "x" * 201}, "k", "reason"),
        ({"points": 5}, "k", "reason"),
        ({"points": 5, "reason": "ok", "extra": 1}, "k", "extra"),
        ({"points": 5, "reason": "ok"}, None, "idempotency-key"),
    ],
)
async def test_a_bad_adjustment_is_a_422_naming_the_field(
    tmp_path: Path, body: dict[str, Any], key: str | None, field: str
) -> None:
    async with embedded_client(tmp_path) as client:
        customer = await bought(client, "M-3")

        refused = await adjust(client, customer, body, key)

        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in refused.text.lower()
        assert await balance(client, customer) == 1000


async def test_a_merged_away_or_unknown_customer_is_a_404_as_for_redemptions(
    tmp_path: Path,
) -> None:
    async with embedded_client(tmp_path) as client:
        survivor, merged = await bought(client, "M-4"), await bought(client, "M-5")
        merge = await client.post(
            "/v1/customers/merges",
            json={"survivor_id": survivor, "merged_id": merged, "reason": "same person"},
        )
        assert merge.status_code == 201, merge.text
        await eventually(lambda: balance(client, survivor), lambda b: b == 2000, within=15)
        body = {"points": 100, "reason": "goodwill"}

        for customer in (merged, "00000000-0000-4000-8000-000000000000"):
            redeemed = await client.post(
                f"/v1/customers/{customer}/loyalty/redemptions",
                json=body,
                headers={"Idempotency-Key": "r-1"},
            )
            adjusted = await adjust(client, customer, body, "a-1")
            assert (adjusted.status_code, adjusted.json()["type"]) == (
                redeemed.status_code,
                redeemed.json()["type"],
            )
            assert adjusted.status_code == 404
