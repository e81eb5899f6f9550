"""Through the gateway: an admin declares attributes, a partner posts them with consent,
the 360 shows both; an editor patches the record under If-Match (a stale one is 412, an
unknown attribute or a wrong type a 422 naming it), records consent by API and reads its
history; identities and lookups by e-mail and phone follow; an operator sets the identity
guardrails and adds and removes a partner reference. Once on the local topology
(PostgreSQL, Kafka, five processes) and once in embedded mode (SQLite, in-memory bus)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import eventually
from tests.e2e.embedded import embedded_client


class Caller:
    def __init__(self, gateway: httpx.AsyncClient, key: str) -> None:
        self.gateway, self.headers = gateway, {"Authorization": f"Bearer {key}"}

    def send(self, method: str, path: str, **options: Any) -> Any:
        headers = {**self.headers, **options.pop("headers", {})}
        return self.gateway.request(method, path, headers=headers, **options)


async def _caller(gateway: httpx.AsyncClient, tenant: str, partner: str, *scopes: str) -> Caller:
    created = await gateway.post(
        "/v1/admin/api-keys",
        json={"name": partner, "partner": partner, "scopes": list(scopes), "tenant_id": tenant},
    )
    assert created.status_code == 201, created.text
    return Caller(gateway, created.json()["api_key"])


def _event(event_id: str, kind: str, data: dict[str, Any], **contact: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "customer": {"source": "pos", "external_id": "C-1", **contact},
        "data": data,
    }


async def _records_flow(gateway: httpx.AsyncClient, tenant: str) -> None:
    pos = await _caller(gateway, tenant, "pos", "events:write", "customers:read")
    desk = await _caller(gateway, tenant, "desk", "admin", "customers:read", "customers:write")
    schema = {
        "plan": {"type": "string"},
        "birthday": {"type": "date", "personal_data": True, "description": "For the bonus"},
    }
    put = await desk.send("PUT", "/v1/profile/attributes", json={"attributes": schema})
    assert put.status_code == 200, put.text
    retyped = {"attributes": {**schema, "plan": {"type": "number"}}}
    refused = await desk.send("PUT", "/v1/profile/attributes", json=retyped)
    assert refused.status_code == 409 and refused.json()["type"].endswith("attribute-type-fixed")

    email = f"li-{tenant}@example.com"
    registered = {"channel": "web", "attributes": {"plan": "gold", "shoe": 42}}
    consent = {"channel": "email", "purpose": "marketing", "granted": True, "proof": "form v2"}
    for answer in [
        await pos.send(
            "POST", "/v1/events", json=_event("e1", "customer.registered", registered, email=email)
        ),
        await pos.send("POST", "/v1/events", json=_event("e2", "consent.changed", consent)),
    ]:
        assert answer.status_code == 202, answer.text

    async def lookup() -> Any:
        return await pos.send("GET", "/v1/customers/lookup", params={"email": email.upper()})

    found, _ = await eventually(lookup, lambda a: a.status_code == 200, within=15)
    customer = found.json()["customer_id"]
    assert found.json()["matches"] == [customer]
    path = f"/v1/customers/{customer}"

    async def view() -> Any:
        return (await pos.send("GET", path)).json()

    seen, _ = await eventually(view, lambda v: v["consent"] != [], within=15)
    assert seen["attributes"] == {"plan": "gold"}
    assert [(c["channel"], c["purpose"], c["granted"]) for c in seen["consent"]] == [
        ("email", "marketing", True)
    ]
    version = seen["version"]

    patched = await desk.send(
        "PATCH",
        path,
        json={"name": "Li Wei", "attributes": {"birthday": "1990-02-28", "plan": None}},
        headers={"If-Match": f'"{version}"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == f'"{version + 1}"'
    assert patched.json()["attributes"] == {"birthday": "1990-02-28"}
    stale = await desk.send(
        "PATCH", path, json={"name": "Li"}, headers={"If-Match": f'"{version}"'}
    )
    assert stale.status_code == 412 and stale.json()["current_version"] == version + 1
    unknown = await desk.send("PATCH", path, json={"attributes": {"shoe": 42}})
    assert (
        unknown.status_code == 422
        and unknown.json()["errors"][0]["field"] == "body.attributes.shoe"
    )
    wrong = await desk.send("PATCH", path, json={"attributes": {"birthday": "tomorrow"}})
    assert wrong.status_code == 422 and "birthday" in wrong.json()["detail"]

    withdrawn = await desk.send(
        "POST",
        f"{path}/consent",
        json={"channel": "email", "purpose": "marketing", "granted": False},
    )
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["applied"] and withdrawn.json()["recorded_by"].startswith("api-key:")
    history = (await pos.send("GET", f"{path}/consent")).json()
    assert [h["granted"] for h in history["history"]] == [False, True]
    assert history["history"][1]["proof"] == "form v2" and not history["current"][0]["granted"]
    assert (await view())["name"] == "Li Wei"

    identities = (await pos.send("GET", f"{path}/identities")).json()["identities"]
    assert {(i["kind"], i["value"], i["source"]) for i in identities} == {
        ("ref:pos", "C-1", "pos"),
        ("email", email, "pos"),
    }
    forbidden = await pos.send("PATCH", path, json={"name": "Mallory"})
    assert forbidden.status_code == 403
    await _search_flow(pos, customer, email)
    await _export_flow(desk, customer)
    await _identities_flow(pos, desk, customer)


async def _search_flow(pos: Caller, customer: str, email: str) -> None:
    async def found(**params: Any) -> list[str]:
        answer = await pos.send("GET", "/v1/customers", params=params)
        assert answer.status_code == 200, answer.text
        return [c["customer_id"] for c in answer.json()["customers"]]

    assert await found(q="wei") == [customer]  # a later word of the name
    assert await found(q="Li W", attribute=["birthday=1990-02-28"]) == [customer]
    assert await found(q=email[:6]) == [customer]
    assert await found(q="li", attribute=["birthday=1990-01-01"]) == []
    assert await found(q="nobody-of-that-name") == []
    unknown = await pos.send("GET", "/v1/customers", params={"attribute": "shoe=42"})
    assert unknown.status_code == 422 and "shoe" in unknown.json()["detail"]


async def _export_flow(desk: Caller, customer: str) -> None:
    ndjson = await desk.send("GET", "/v1/profile/export")
    assert ndjson.status_code == 200 and ndjson.headers["content-type"] == "application/x-ndjson"
    [line] = [json.loads(row) for row in ndjson.text.splitlines()]
    assert line["customer_id"] == customer and line["attributes"] == {"birthday": "1990-02-28"}
    table = await desk.send("GET", "/v1/profile/export", params={"format": "csv"})
    header, row = list(csv.reader(io.StringIO(table.text)))
    assert header[-2:] == ["birthday", "plan"] and row[0] == customer
    assert row[-2:] == ["1990-02-28", ""]


async def _identities_flow(pos: Caller, desk: Caller, customer: str) -> None:
    rails = {
        "blocked_emails": ["noreply@*"],
        "blocked_phones": [],
        "max_identities": 2,
        "on_match": "propose",
    }
    put = await desk.send("PUT", "/v1/profile/identity-guardrails", json=rails)
    assert put.status_code == 200, put.text
    assert (await desk.send("GET", "/v1/profile/identity-guardrails")).json() == rails
    path = f"/v1/customers/{customer}/identities"
    added = await desk.send("POST", path, json={"source": "shop", "external_id": "S-9"})
    assert added.status_code == 201, added.text
    assert ("ref:shop", "S-9", "api") in {
        (i["kind"], i["value"], i["source"]) for i in added.json()["identities"]
    }
    found = await pos.send(
        "GET", "/v1/customers/lookup", params={"source": "shop", "external_id": "S-9"}
    )
    assert found.json()["customer_id"] == customer
    third = await desk.send("POST", path, json={"source": "app", "external_id": "A-1"})
    assert third.status_code == 409 and third.json()["type"].endswith("identity-limit")
    reference = {"source": "shop", "external_id": "S-9"}
    assert (await desk.send("DELETE", path, params=reference)).status_code == 204
    assert (await desk.send("DELETE", path, params=reference)).status_code == 404


async def test_attributes_consent_and_identities_through_the_gateway(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    await _records_flow(gateway, f"records-{run_id}")


async def test_attributes_consent_and_identities_in_embedded_mode(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as gateway:
        await _records_flow(gateway, "records-embedded")
