"""Through the gateway: an admin declares attributes and imports a CSV file and an NDJSON
file with good and bad rows; the good customers appear in lookups, the 360 (attributes,
consent) and search, the bad rows are reported with their line and a reason naming the
column; posting the same file again answers the same job and duplicates nothing. Once on
the local topology (PostgreSQL, Kafka, five processes) and once in embedded mode."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import ROOT, eventually
from tests.e2e.embedded import embedded_client
from tests.e2e.test_profile_records import Caller, _caller

SCHEMA = {
    "plan": {"type": "string"},
    "score": {"type": "number"},
    "vip": {"type": "boolean"},
    "birthday": {"type": "date", "personal_data": True},
    "tags": {"type": "list"},
}
CSV_TYPE = {"content-type": "text/csv"}
NDJSON_TYPE = {"content-type": "application/x-ndjson"}


def csv_file(run: str) -> str:
    header = "source,external_id,name,email,plan,score,vip,birthday,tags,shoe"
    header += ",consent.email.marketing"
    return "\n".join(
        [
            header,
            f"pos,I-1-{run},Ada Lovelace,ada-{run}@example.com,gold,12.5,true,1990-04-01,a;b,,yes",
            f"pos,I-2-{run},Bob Stone,,silver,7,no,,,,",
            "pos,,No Id,,,,,,,,",
            f"pos,I-4-{run},Bad Mail,not-an-email,,,,,,,",
            f"pos,I-5-{run},Bad Score,,,lots,,,,,",
            f"pos,I-6-{run},Bad Date,,,,,1990-13-01,,,",
            f"pos,I-7-{run},Shoe Size,,,,,,,42,",
            "",
        ]
    )


async def _done(caller: Caller, location: str) -> dict[str, Any]:
    async def job() -> Any:
        return (await caller.send("GET", location)).json()

    found, _ = await eventually(job, lambda j: j["state"] in ("done", "failed"), within=30)
    return dict(found)


async def _customer(caller: Caller, external_id: str) -> dict[str, Any]:
    params = {"source": "pos", "external_id": external_id}

    async def lookup() -> Any:
        return await caller.send("GET", "/v1/customers/lookup", params=params)

    found, _ = await eventually(lookup, lambda a: a.status_code == 200, within=20)
    assert found.json()["matches"] == [found.json()["customer_id"]]
    path = f"/v1/customers/{found.json()['customer_id']}"

    async def view() -> Any:
        return (await caller.send("GET", path)).json()

    seen, _ = await eventually(view, lambda v: v["attributes"] != {}, within=20)
    return dict(seen)


async def _import_flow(gateway: httpx.AsyncClient, tenant: str, run: str) -> None:
    admin = await _caller(gateway, tenant, "pos", "admin", "customers:read")
    put = await admin.send("PUT", "/v1/profile/attributes", json={"attributes": SCHEMA})
    assert put.status_code == 200, put.text
    body = csv_file(run)
    posted = await admin.send("POST", "/v1/imports", content=body, headers=CSV_TYPE)
    assert posted.status_code == 202, posted.text
    assert posted.json()["rows"] == 7 and posted.json()["format"] == "csv"
    job = await _done(admin, posted.headers["location"])
    assert job["state"] == "done", job
    assert (job["rows_read"], job["accepted"], job["rejected"]) == (7, 2, 5)
    reasons = {r["line"]: r["reason"] for r in job["rejections"]}
    assert sorted(reasons) == [4, 5, 6, 7, 8]
    assert reasons[4].startswith("external_id") and reasons[5].startswith("email")
    assert reasons[6].startswith("score") and reasons[7].startswith("birthday")
    assert reasons[8].startswith("shoe: unknown attribute")
    assert "not-an-email" not in json.dumps(job)  # reasons never repeat a value

    ada = await _customer(admin, f"I-1-{run}")
    assert ada["name"] == "Ada Lovelace" and ada["email"] == f"ada-{run}@example.com"
    assert ada["attributes"] == {
        "plan": "gold",
        "score": 12.5,
        "vip": True,
        "birthday": "1990-04-01",
        "tags": ["a", "b"],
    }
    assert [(c["channel"], c["purpose"], c["granted"]) for c in ada["consent"]] == [
        ("email", "marketing", True)
    ]
    bob = await _customer(admin, f"I-2-{run}")
    assert bob["attributes"] == {"plan": "silver", "score": 7, "vip": False}
    search = await admin.send("GET", "/v1/customers", params={"q": "Lovelace"})
    assert [c["customer_id"] for c in search.json()["customers"]] == [ada["customer_id"]]

    again = await admin.send("POST", "/v1/imports", content=body, headers=CSV_TYPE)
    assert again.status_code == 202 and again.json()["import_id"] == job["import_id"]
    assert again.json()["accepted"] == 2
    same = await _customer(admin, f"I-1-{run}")
    assert same["customer_id"] == ada["customer_id"] and same["version"] == ada["version"]
    await _ndjson_flow(admin, run)


async def _ndjson_flow(admin: Caller, run: str) -> None:
    lines = [
        {"external_id": f"N-1-{run}", "name": "Nia Park", "attributes": {"score": 3}},
        {"external_id": f"N-2-{run}", "color": "red"},
        "this is no JSON",
        {"external_id": f"N-4-{run}", "vip": "maybe"},
    ]
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    posted = await admin.send(
        "POST", "/v1/imports", content=body, headers=NDJSON_TYPE, params={"source": "pos"}
    )
    assert posted.status_code == 202, posted.text
    job = await _done(admin, posted.headers["location"])
    assert (job["accepted"], job["rejected"]) == (1, 3), job
    assert [r["line"] for r in job["rejections"]] == [2, 3, 4]
    assert job["rejections"][0]["reason"].startswith("color: unknown attribute")
    assert "JSON object" in job["rejections"][1]["reason"]
    assert job["rejections"][2]["reason"].startswith("vip: must be true or false")
    nia = await _customer(admin, f"N-1-{run}")
    assert nia["name"] == "Nia Park" and nia["attributes"] == {"score": 3}


async def _refusals(gateway: httpx.AsyncClient, tenant: str) -> None:
    admin = await _caller(gateway, tenant, "pos", "admin")
    reader = await _caller(gateway, tenant, "pos", "customers:read")
    cases = [
        (admin, "a,b\n1,2\n", {"content-type": "text/plain"}, 415),
        (admin, "name,email\nAda,ada@example.com\n", CSV_TYPE, 422),
        (admin, "external_id,external_id\n1,2\n", CSV_TYPE, 422),
        (admin, "\n\n", CSV_TYPE, 422),
        (admin, b"external_id\n\xff\xfe\n", CSV_TYPE, 422),
        (admin, "external_id\n" + "x" * 20_000 + "\n", CSV_TYPE, 413),
        (reader, "external_id\nA\n", CSV_TYPE, 403),
    ]
    for caller, body, headers, status in cases:
        answer = await caller.send("POST", "/v1/imports", content=body, headers=headers)
        assert answer.status_code == status, (body[:40], answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    one_row, web = "external_id\nA\n", {"source": "web"}
    elsewhere = await admin.send(
        "POST", "/v1/imports", content=one_row, headers=CSV_TYPE, params=web
    )
    assert elsewhere.status_code == 403 and "web" in elsewhere.json()["detail"]
    missing = await admin.send("GET", "/v1/imports/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


async def _cli_flow(gateway: httpx.AsyncClient, tenant: str, run: str, folder: Path) -> None:
    """The CLI uploads a file, shows its progress and prints the rejected lines."""
    admin = await _caller(gateway, tenant, "pos", "admin", "customers:read")
    key_file = folder / "key"
    key_file.write_text(admin.headers["Authorization"].removeprefix("Bearer "))
    data = folder / "customers.jsonl"
    good = [{"external_id": f"L-{n}-{run}", "name": f"Cli {n}"} for n in range(1, 40)]
    data.write_text("\n".join(json.dumps(row) for row in [*good, {"name": "anon"}]) + "\n")
    command = [sys.executable, "-m", "services.gateway.import_cli", str(data)]
    command += ["--url", str(gateway.base_url), "--key-file", str(key_file)]
    command += ["--source", "pos", "--interval", "0.2"]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=dict(os.environ), stdout=-1, stderr=-1
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 3, (out, err)  # some rows rejected
    assert out.decode() == "line 40: external_id: missing; every row names its customer\n"
    assert "40/40 rows  accepted 39  rejected 1" in err.decode()
    await _customer_named(admin, f"L-39-{run}")


async def _customer_named(caller: Caller, external_id: str) -> None:
    params = {"source": "pos", "external_id": external_id}

    async def lookup() -> Any:
        return await caller.send("GET", "/v1/customers/lookup", params=params)

    await eventually(lookup, lambda a: a.status_code == 200, within=20)


async def test_import_through_the_gateway(
    gateway: httpx.AsyncClient, run_id: str, tmp_path: Path
) -> None:
    await _import_flow(gateway, f"imports-{run_id}", run_id)
    await _refusals(gateway, f"imports-{run_id}")
    await _cli_flow(gateway, f"imports-{run_id}", run_id, tmp_path)


async def test_import_in_embedded_mode(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as gateway:
        await _import_flow(gateway, "imports-embedded", "e")
        await _refusals(gateway, "imports-embedded")
