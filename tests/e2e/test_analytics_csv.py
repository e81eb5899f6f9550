"""The analytics through the gateway: each answers JSON by default and one CSV table
with ``Accept: text/csv``, and the table holds the same figures as the JSON; a
customer's lifetime value reads through the gateway too."""

from __future__ import annotations

import csv
import io

import httpx

from tests.e2e.conftest import eventually, purchase

CSV = {"accept": "text/csv"}


def _table(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


async def _both(gateway: httpx.AsyncClient, path: str) -> tuple[dict, list[dict[str, str]]]:
    as_json = await gateway.get(path)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    return as_json.json(), _table(await gateway.get(path, headers=CSV))


async def test_every_analytics_route_answers_a_csv_table_with_the_json_figures(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    customer = f"V-{run_id}"
    bought = purchase(f"v-{run_id}", customer, f"O-{run_id}", amount_minor=4200, currency="EUR")
    assert (await gateway.post("/v1/events", json=bought)).status_code == 202
    found, _ = await eventually(
        lambda: gateway.get(
            "/v1/customers/lookup", params={"source": "pos", "external_id": customer}
        ),
        lambda r: r.status_code == 200,
        within=10,
    )
    customer_id = found.json()["customer_id"]
    value, _ = await eventually(
        lambda: gateway.get(f"/v1/customers/{customer_id}/value?horizon_months=6"),
        lambda r: r.status_code == 200,
        within=10,
    )
    assert value.json()["currency"] == "EUR" and value.json()["horizon_months"] == 6

    funnel, rows = await _both(gateway, "/v1/lifecycle/funnel?as_of=2020-01-01T00:00:00Z")
    assert {r["stage"]: int(r["customers"]) for r in rows} == funnel["stages"]
    window = "from=2019-01-01T00:00:00Z&to=2020-01-01T00:00:00Z"  # before any run: stable
    conversion, rows = await _both(gateway, f"/v1/lifecycle/funnel/conversion?{window}")
    assert [r["stage"] for r in rows][:5] == ["prospect", "lead", "new_customer", "active", "loyal"]
    assert len(rows) == len(conversion["time_in_stage"])
    cohorts, rows = await _both(gateway, f"/v1/lifecycle/cohorts?{window}")
    assert len(rows) == sum(len(c["active"]) for c in cohorts["cohorts"])
    winbacks, rows = await _both(gateway, f"/v1/lifecycle/winbacks?{window}")
    assert [(r["customers"], r["winbacks"]) for r in rows] == [("0", "0")]
    assert winbacks["revenue_since"] == [] and rows[0]["currency"] == ""
    tiers, rows = await _both(gateway, f"/v1/loyalty/tiers/distribution?{window}")
    assert [r["tier"] for r in rows if r["row"] == "tier"] == [t["tier"] for t in tiers["tiers"]]
    classes, rows = await _both(gateway, "/v1/lifecycle/value-classes")
    assert len(rows) == len(classes["classes"])
    assert rows == [] or set(rows[0]) >= {"currency", "class", "customers", "clv_minor"}
