"""Data-protection requests through the gateway: a partner's customer with an order,
points, a complaint, a survey answer and consent is exported (one document holding what
every service has) and then erased (every service confirms; reads are 404 afterwards);
a key without the scopes is 403, an unknown customer 404. Once on the local topology
(PostgreSQL, Kafka, five processes) and once in embedded mode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import eventually
from tests.e2e.embedded import embedded_client
from tests.e2e.test_profile_records import Caller, _caller

NAME, PHONE = "Erasable Li", "+8613800000777"


def _event(n: int, kind: str, data: dict[str, Any], email: str) -> dict[str, Any]:
    return {
        "id": f"priv-{n}",
        "type": kind,
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "customer": {
            "source": "pos", "external_id": "C-1", "name": NAME, "email": email, "phone": PHONE,
        },
        "data": data,
    }  # fmt: skip


async def _customer_with_everything(pos: Caller, email: str) -> str:
    posted = [
        ("purchase.completed", {"order_id": "O-1", "amount_minor": 50000, "currency": "CNY",
                                "channel": "store"}),
        ("complaint.filed", {"complaint_ref": "T-1", "severity": "low", "category": "delivery",
                             "channel": "web", "text": "Parcel lost, call me"}),
        ("survey.responded", {"survey": "nps", "score": 9, "comment": "Nice staff"}),
        ("consent.changed", {"channel": "email", "purpose": "surveys", "granted": True,
                             "proof": "Ticked box v3"}),
    ]  # fmt: skip
    for n, (kind, data) in enumerate(posted):
        answer = await pos.send("POST", "/v1/events", json=_event(n, kind, data, email))
        assert answer.status_code == 202, answer.text

    async def lookup() -> Any:
        return await pos.send(
            "GET", "/v1/customers/lookup", params={"source": "pos", "external_id": "C-1"}
        )

    found, _ = await eventually(lookup, lambda a: a.status_code == 200, within=20)
    customer: str = found.json()["customer_id"]

    async def view() -> Any:
        return (await pos.send("GET", f"/v1/customers/{customer}")).json()

    def complete(v: dict[str, Any]) -> bool:
        return (
            v["stats"]["orders"] == 1
            and v["feedback"]["open_complaints"] == 1
            and v["feedback"]["last_nps"] == 9
            and v["loyalty"]["points_balance"] + v["loyalty"]["points_pending"] > 0
            and v["consent"] != []
        )

    await eventually(view, complete, within=30)
    return customer


async def _export(admin: Caller, customer: str) -> dict[str, Any]:
    started = await admin.send("POST", f"/v1/customers/{customer}/export")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location == f"/v1/privacy/exports/{started.json()['export_id']}"

    async def job() -> Any:
        return (await admin.send("GET", location)).json()

    done, _ = await eventually(job, lambda j: j["status"] != "gathering", within=20)
    assert done["status"] == "ready", done
    assert [s["status"] for s in done["services"]] == ["done"] * 4
    return done["document"]["services"]  # type: ignore[no-any-return]


def _holds_every_item(document: dict[str, Any], email: str) -> None:
    profile, lifecycle = document["profile"], document["lifecycle"]
    feedback, loyalty = document["feedback"], document["loyalty"]
    [record] = profile["customer"]
    assert (record["name"], record["email"], record["phone"]) == (NAME, email, PHONE)
    assert {i["kind"] for i in profile["identity"]} == {"ref:pos", "email", "phone"}
    assert [c["proof"] for c in profile["consent_change"]] == ["Ticked box v3"]
    assert profile["consent"] and profile["customer_view"][0]["orders"] == 1
    assert lifecycle["customer_state"][0]["stage"] and lifecycle["stage_history"]
    assert [p["order_id"] for p in lifecycle["lifecycle_purchase"]] == ["O-1"]
    assert [c["text"] for c in feedback["complaint"]] == ["Parcel lost, call me"]
    assert [r["comment"] for r in feedback["survey_response"]] == ["Nice staff"]
    assert loyalty["account"] and loyalty["ledger_entry"] and loyalty["lot"]


async def _erase(admin: Caller, customer: str, reader: Caller) -> dict[str, Any]:
    answer = await admin.send("DELETE", f"/v1/customers/{customer}", params={"reason": "art. 17"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["requested_by"].startswith("api-key:")
    # At once, before any service but profile has erased its part: nothing is served.
    for part in ("complaints", "loyalty", "lifecycle", "survey-responses", "segments"):
        read = await reader.send("GET", f"/v1/customers/{customer}/{part}")
        problem = (read.status_code, read.json()["type"])
        assert problem == (404, "urn:crm:problem:customer-erased"), (part, read.text)

    async def job() -> Any:
        return (await admin.send("GET", answer.headers["location"])).json()

    done, _ = await eventually(job, lambda j: j["status"] == "erased", within=30)
    return done  # type: ignore[no-any-return]


async def _privacy_flow(gateway: httpx.AsyncClient, tenant: str) -> None:
    email = f"li-{tenant}@example.com"
    pos = await _caller(gateway, tenant, "pos", "events:write", "customers:read")
    admin = await _caller(gateway, tenant, "ops", "admin", "customers:read")
    eraser = await _caller(gateway, tenant, "dpo", "privacy:erase", "privacy:export")
    customer = await _customer_with_everything(pos, email)
    unknown = f"/v1/customers/{uuid.uuid4()}"

    path, reason = f"/v1/customers/{customer}", {"reason": "x"}
    refusals = [
        await pos.send("POST", f"{path}/export"),
        await pos.send("DELETE", path, params=reason),
        await admin.send("POST", f"{unknown}/export"),
        await eraser.send("DELETE", unknown, params=reason),
        await eraser.send("DELETE", path),
    ]
    assert [r.status_code for r in refusals] == [403, 403, 404, 404, 422]

    document = await _export(admin, customer)
    _holds_every_item(document, email)
    job = await _erase(eraser, customer, reader=admin)

    assert [s["confirmed_at"] is not None for s in job["services"]] == [True] * 4
    assert job["seconds"] >= 0
    assert (await pos.send("GET", f"/v1/customers/{customer}")).status_code == 404
    found = await pos.send("GET", "/v1/customers/lookup", params={"email": email})
    assert found.status_code == 404
    again = await admin.send("DELETE", f"/v1/customers/{customer}", params={"reason": "x"})
    assert again.status_code == 404


async def test_export_and_erasure_through_the_gateway(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    await _privacy_flow(gateway, f"privacy-{run_id}")


async def test_export_and_erasure_in_embedded_mode(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as gateway:
        await _privacy_flow(gateway, "privacy-embedded")
