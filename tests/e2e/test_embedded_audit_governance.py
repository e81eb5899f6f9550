"""Issue 12, item 4, for the decisions about a person (embedded mode, SQLite): a merge,
its undo, an export and an erasure each write exactly one audit entry, with the key
that took it, the customer it is about and the change (ids only: the identities a
merge moves and the person an erasure forgets are personal data); a refused repeat
writes none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.embedded import embedded_client
from tests.e2e.test_embedded_audit import audit_entries


async def _two_customers(client: httpx.AsyncClient) -> tuple[str, str]:
    """Two customers the POS knows, each with an order."""
    found = []
    for n in (1, 2):
        posted = await client.post("/v1/events", json=purchase(f"p-{n}", f"A-{n}", f"O-{n}"))
        assert posted.is_success, posted.text
        view, _ = await eventually(
            lambda n=n: customer_360(client, f"A-{n}"), lambda v: v is not None, within=15
        )
        found.append(str(view["customer_id"]))
    return found[0], found[1]


async def _merge(client: httpx.AsyncClient, survivor: str, merged: str) -> str:
    body = {"survivor_id": survivor, "merged_id": merged, "reason": "same person"}
    answer = await client.post("/v1/customers/merges", json=body)
    assert answer.status_code == 201, answer.text
    again = await client.post("/v1/customers/merges", json=body)
    assert again.status_code == 409  # refused: no decision, no entry
    return str(answer.json()["merge_id"])


async def _only(client: httpx.AsyncClient, action: str, target: str) -> dict[str, Any]:
    """The one entry of ``action``, after checking there is exactly one, about ``target``."""
    entries = [e for e in await audit_entries(client) if e["action"] == action]
    assert len(entries) == 1, entries
    [entry] = entries
    assert entry["target"] == target
    assert entry["actor_key_id"] and entry["actor_partner"] and entry["request_id"]
    return entry


async def test_a_merge_is_recorded_once(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        survivor, merged = await _two_customers(client)
        merge_id = await _merge(client, survivor, merged)
        entry = await _only(client, "customers.merged", f"customer:{merged}")
    assert entry["change"]["before"] is None
    assert entry["change"]["after"] == {
        "merge_id": merge_id, "survivor_id": survivor, "merged_id": merged, "undone": False
    }  # fmt: skip


async def test_an_undo_is_recorded_once(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        survivor, merged = await _two_customers(client)
        merge_id = await _merge(client, survivor, merged)
        undo = f"/v1/customers/merges/{merge_id}/undo"
        assert (await client.post(undo, json={"reason": "two people"})).status_code == 200
        assert (await client.post(undo, json={"reason": "again"})).status_code == 409
        entry = await _only(client, "customers.unmerged", f"customer:{merged}")
    assert entry["change"]["before"] == {"undone": False}
    assert entry["change"]["after"]["undone"] is True
    assert entry["change"]["after"]["merge_id"] == merge_id


async def test_an_export_is_recorded_once(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        customer, _ = await _two_customers(client)
        started = await client.post(f"/v1/customers/{customer}/export")
        assert started.status_code == 202, started.text
        unknown = "/v1/customers/00000000-0000-4000-8000-000000000000/export"
        assert (await client.post(unknown)).status_code == 404  # no decision, no entry
        entry = await _only(client, "customer.exported", f"customer:{customer}")
    assert entry["change"] == {"before": None, "after": {"export_id": started.json()["export_id"]}}


async def test_an_erasure_is_recorded_once(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        customer, _ = await _two_customers(client)
        path = f"/v1/customers/{customer}"
        erased = await client.delete(path, params={"reason": "art. 17"})
        assert erased.status_code == 202, erased.text
        assert (await client.delete(path, params={"reason": "art. 17"})).status_code == 404
        entry = await _only(client, "customer.erased", f"customer:{customer}")
    assert entry["change"]["before"] == {"erased": False}
    after = {"erasure_id": erased.json()["erasure_id"], "reason": "art. 17"}
    assert entry["change"]["after"] == after
