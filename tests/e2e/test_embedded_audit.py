"""The audit log in embedded mode (SQLite): each decision taken through the API writes
exactly one entry (a repeated request is one decision), a refused one writes none, the
log reads back filtered and paged, and the table itself refuses UPDATE and DELETE."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import customer_360, eventually, purchase
from tests.e2e.embedded import embedded_client
from tests.e2e.test_complaint_flow import _complaint


async def audit_entries(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every entry of the query, following the cursor."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            "/v1/audit", params={**params, "limit": 2} | ({"cursor": cursor} if cursor else {})
        )
        assert page.status_code == 200, page.text
        found += page.json()["entries"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


async def decide_everything(client: httpx.AsyncClient) -> str:
    """Take one of each audited decision (some twice, as a client retrying would)."""
    assert (await client.post("/v1/events", json=purchase("p-1", "A-1", "O-1", 100000))).is_success
    view, _ = await eventually(
        lambda: customer_360(client, "A-1"),
        lambda v: v is not None and v["loyalty"]["points_balance"] == 1000,
        within=15,
    )
    customer = view["customer_id"]
    created = await client.post(
        "/v1/admin/api-keys", json={"name": "till", "partner": "pos", "scopes": ["events:write"]}
    )
    key_id = created.json()["key_id"]
    assert (await client.post(f"/v1/admin/api-keys/{key_id}/rotate", json={})).is_success
    for _ in range(2):
        assert (await client.delete(f"/v1/admin/api-keys/{key_id}")).status_code == 204
    for _ in range(2):
        redeemed = await client.post(
            f"/v1/customers/{customer}/loyalty/redemptions",
            json={"points": 100, "reason": "gift"},
            headers={"Idempotency-Key": "gift-1"},
        )
        assert redeemed.status_code == 201, redeemed.text
    short = await client.post(
        f"/v1/customers/{customer}/loyalty/redemptions",
        json={"points": 10**6, "reason": "too much"},
        headers={"Idempotency-Key": "gift-2"},
    )
    assert short.status_code == 409  # refused: no decision, no entry
    consent = {"channel": "email", "purpose": "marketing", "granted": True}
    assert (await client.post(f"/v1/customers/{customer}/consent", json=consent)).is_success
    for area in ("loyalty", "lifecycle", "feedback"):
        assert (await client.post(f"/v1/{area}/sweep")).is_success
    hook = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/crm", "event_types": ["*"]}
    )
    assert hook.status_code == 201, hook.text
    assert (await client.delete(f"/v1/webhooks/{hook.json()['webhook_id']}")).status_code == 204
    await work_a_complaint(client, customer)
    await change_a_segment(client)
    return str(customer)


async def change_a_segment(client: httpx.AsyncClient) -> str:
    """Define, change, sweep and delete a segment; a name taken is refused (409)."""
    buyers = {"activity": "purchase_completed", "within_days": 90, "at_least": 2}
    created = await client.post("/v1/segments", json={"name": "Buyers", "rule": buyers})
    assert created.status_code == 201, created.text
    taken = await client.post("/v1/segments", json={"name": "Buyers", "rule": buyers})
    assert taken.status_code == 409
    segment = f"/v1/segments/{created.json()['segment_id']}"
    assert (await client.put(segment, json={"name": "Repeat buyers", "rule": buyers})).is_success
    assert (await client.post("/v1/segments/sweep")).is_success
    assert (await client.delete(segment)).status_code == 204
    return str(created.json()["segment_id"])


async def work_a_complaint(client: httpx.AsyncClient, customer: str) -> None:
    """The desk takes up, notes and resolves (with goodwill) a complaint; resolving it
    again is refused (409) and decides nothing."""
    filing = {"complaint_ref": "T-1", "severity": "high", "category": "billing",
              "channel": "phone", "text": "Charged twice."}  # fmt: skip
    filed = await client.post(
        "/v1/events", json=_complaint("cf-1", "A-1", "complaint.filed", filing)
    )
    assert filed.status_code == 202, filed.text
    queue, _ = await eventually(
        lambda: client.get("/v1/feedback/complaints"),
        lambda page: bool(page.json()["complaints"]),
        within=15,
    )
    one = f"/v1/customers/{customer}/complaints/{queue.json()['complaints'][0]['complaint_id']}"
    assert (await client.patch(one, json={"status": "in_progress"})).is_success
    assert (await client.post(f"{one}/notes", json={"text": "Called back."})).is_success
    resolution = {"resolution": "Refunded.", "compensation_points": 50}
    assert (await client.post(f"{one}/resolution", json=resolution)).status_code == 200
    assert (await client.post(f"{one}/resolution", json=resolution)).status_code == 409


async def test_each_decision_is_recorded_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_SIGNING_MASTER_KEY", "m" * 40)
    monkeypatch.setenv("CRM_WEBHOOK_ALLOWED_HOSTS", "hooks.example.com")
    async with embedded_client(tmp_path) as client:
        customer = await decide_everything(client)
        entries = await audit_entries(client)
        about_customer = await audit_entries(client, target=f"customer:{customer}")

    assert Counter(e["action"] for e in entries) == {
        "api_key.created": 1,
        "api_key.rotated": 1,
        "api_key.revoked": 1,
        "loyalty.redeemed": 1,
        "consent.recorded": 1,
        "loyalty.swept": 1,
        "lifecycle.swept": 1,
        "feedback.swept": 1,
        "webhook.created": 1,
        "webhook.deleted": 1,
        "complaint.changed": 1,
        "complaint.noted": 1,
        "complaint.resolved": 1,
        "segment.created": 1,
        "segment.changed": 1,
        "segments.swept": 1,
        "segment.deleted": 1,
    }
    assert [e["action"] for e in about_customer] == ["consent.recorded", "loyalty.redeemed"]
    redeemed = about_customer[1]
    assert redeemed["change"]["after"] == {"points": 100, "reason": "gift"}
    assert redeemed["request_id"] and redeemed["actor_partner"] == "default"
    revoked = next(e for e in entries if e["action"] == "api_key.revoked")
    assert revoked["change"]["before"] == {"revoked_at": None}
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    changed = next(e for e in entries if e["action"] == "segment.changed")
    assert changed["target"].startswith("segment:")
    assert changed["change"]["before"] == {"version": 1}
    assert changed["change"]["after"]["name"] == "Repeat buyers"


async def test_the_audit_table_refuses_update_and_delete(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        created = await client.post(
            "/v1/admin/api-keys", json={"name": "t", "partner": "pos", "scopes": ["events:write"]}
        )
        assert created.status_code == 201
    database = sqlite3.connect(tmp_path / "embedded" / "gateway.db")
    try:
        assert database.execute("SELECT count(*) FROM audit_entry").fetchone() == (1,)
        for statement in ("UPDATE audit_entry SET action = 'forged'", "DELETE FROM audit_entry"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                database.execute(statement)
        assert database.execute("SELECT action FROM audit_entry").fetchall() == [
            ("api_key.created",)
        ]
    finally:
        database.close()


async def test_the_audit_log_needs_its_scope_and_a_sane_window(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        reader = await client.post(
            "/v1/admin/api-keys",
            json={"name": "r", "partner": "pos", "scopes": ["customers:read"]},
        )
        key = reader.json()["api_key"]
        refused = await client.get("/v1/audit", headers={"Authorization": f"Bearer {key}"})
        window = {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
        backwards = await client.get("/v1/audit", params=window)
    assert refused.status_code == 403
    assert backwards.status_code == 422 and "'from'" in backwards.json()["detail"]
