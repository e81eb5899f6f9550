"""Through the gateway, on the local topology: an operator merges two customers they
name, reads one 360, one balance, one stage from all the orders and one list of
complaints, undoes the merge and reads two of each again; the merge's record says who,
when, why and what moved; bad input is a problem that names it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.conftest import eventually
from tests.e2e.test_profile_merges import Caller, _key, _posted_by


async def _two(gateway: httpx.AsyncClient, tenant: str) -> tuple[Caller, Caller, str, str]:
    pos = Caller(gateway, await _key(gateway, tenant, "pos", "events:write", "customers:read"))
    operator = Caller(gateway, await _key(gateway, tenant, "desk", "admin", "customers:read"))
    await pos.post(_posted_by("pos", "C-1", "p1", "O-1", name="Li Wei"))
    await pos.post(_posted_by("pos", "C-2", "p2", "O-2", email="li@example.com"))
    first, second = await pos.known("pos", "C-1"), await pos.known("pos", "C-2")
    for customer in (first, second):
        await eventually(lambda c=customer: pos.view(c), lambda v: v["stats"]["orders"] == 1)
    return pos, operator, first, second


async def _points(caller: Caller, customer_id: str) -> int:
    answer = await caller.get(f"/v1/customers/{customer_id}/loyalty")
    if answer.status_code != 200:
        return -1
    found = answer.json()
    return int(found["points_balance"]) + int(found["points_pending"])


async def _complaints(caller: Caller, customer_id: str) -> list[str]:
    answer = await caller.get(f"/v1/customers/{customer_id}/complaints")
    return sorted(c["complaint_ref"] for c in answer.json()["complaints"])


def _merge(operator: Caller, **body: Any) -> Any:
    return operator.gateway.post("/v1/customers/merges", json=body, headers=operator.headers)


def _undo(operator: Caller, merge_id: str, reason: str = "two people") -> Any:
    return operator.gateway.post(
        f"/v1/customers/merges/{merge_id}/undo", json={"reason": reason}, headers=operator.headers
    )


async def test_an_operator_merges_two_customers_reads_one_360_and_undoes_it(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    pos, operator, li, other = await _two(gateway, f"undo-{run_id}")
    filing = {"complaint_ref": f"T-{run_id}", "severity": "low", "category": "delivery",
              "channel": "phone", "text": "Late."}  # fmt: skip
    complaint = _posted_by("pos", "C-2", "c1", "unused")
    complaint.update(type="complaint.filed", data=filing)
    await pos.post(complaint)
    await eventually(lambda: _complaints(pos, other), lambda c: c == [f"T-{run_id}"])
    own, _ = await eventually(lambda: _points(pos, li), lambda p: p > 0)
    theirs, _ = await eventually(lambda: _points(pos, other), lambda p: p > 0)

    merged = await _merge(operator, survivor_id=li, merged_id=other, reason="same person")
    assert merged.status_code == 201, merged.text
    record = merged.json()
    assert (record["survivor_id"], record["merged_id"], record["reason"]) == (
        li,
        other,
        "same person",
    )
    assert record["decided_by"].startswith("api-key:") and record["undo"] is None
    assert ["ref:pos", "C-2"] in record["moved"]["moved"]
    one, _ = await eventually(lambda: pos.view(other), lambda v: v["stats"]["orders"] == 2)
    assert (one["customer_id"], one["email"]) == (li, "li@example.com")
    assert await pos.lookup("pos", "C-2") == li
    await eventually(lambda: _points(pos, li), lambda p: p == own + theirs)
    await eventually(lambda: _complaints(pos, li), lambda c: c == [f"T-{run_id}"])
    await eventually(
        lambda: pos.get(f"/v1/customers/{li}/lifecycle"),
        lambda a: a.status_code == 200 and a.json()["stage"] == "active",
    )  # two orders, one of each, re-folded into one stage

    undone = await _undo(operator, record["merge_id"], "two people after all")
    assert undone.status_code == 200, undone.text
    undo = undone.json()["undo"]
    assert (undo["reason"], undo["undone_by"]) == ("two people after all", record["decided_by"])
    assert ["ref:pos", "C-2"] in undo["moved"]["back"] and undo["moved"]["cleared"] == ["email"]
    first, _ = await eventually(lambda: pos.view(li), lambda v: v["stats"]["orders"] == 1)
    second = await pos.view(other)
    assert (first["customer_id"], first["email"]) == (li, None)
    assert (second["customer_id"], second["email"], second["stats"]["orders"]) == (
        other,
        "li@example.com",
        1,
    )
    assert await pos.lookup("pos", "C-2") == other
    await eventually(lambda: _points(pos, other), lambda p: p == theirs)
    assert await _points(pos, li) == own
    await eventually(lambda: _complaints(pos, other), lambda c: c == [f"T-{run_id}"])
    assert await _complaints(pos, li) == []
    for customer in (li, other):
        await eventually(
            lambda c=customer: pos.get(f"/v1/customers/{c}/lifecycle"),
            lambda a: a.status_code == 200 and a.json()["stage"] == "new_customer",
        )
    read = await operator.get(f"/v1/customers/merges/{record['merge_id']}")
    assert read.json() == undone.json()


async def test_bad_merges_are_problems_that_name_what_is_wrong(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    pos, operator, li, other = await _two(gateway, f"badmerge-{run_id}")
    stranger = Caller(
        gateway, await _key(gateway, f"elsewhere-{run_id}", "desk", "admin", "customers:read")
    )

    itself = await _merge(operator, survivor_id=li, merged_id=li, reason="oops")
    unknown = await _merge(operator, survivor_id=li, merged_id=str(uuid.uuid4()), reason="x")
    no_reason = await _merge(operator, survivor_id=li, merged_id=other)
    not_admin = await pos.gateway.post(
        "/v1/customers/merges",
        json={"survivor_id": li, "merged_id": other, "reason": "x"},
        headers=pos.headers,
    )
    across = await _merge(stranger, survivor_id=li, merged_id=other, reason="not mine")
    merged = await _merge(operator, survivor_id=li, merged_id=other, reason="same person")
    merge_id = merged.json()["merge_id"]
    again = await _merge(operator, survivor_id=li, merged_id=other, reason="same person")
    other_tenant_read = await stranger.get(f"/v1/customers/merges/{merge_id}")
    other_tenant_undo = await _undo(stranger, merge_id)
    first_undo, second_undo = await _undo(operator, merge_id), await _undo(operator, merge_id)
    unknown_undo = await _undo(operator, str(uuid.uuid4()))

    assert (itself.status_code, itself.json()["type"]) == (
        422,
        "urn:crm:problem:merge-same-customer",
    )
    assert (unknown.status_code, unknown.json()["type"]) == (
        404,
        "urn:crm:problem:customer-not-found",
    )
    assert (no_reason.status_code, not_admin.status_code) == (422, 403)
    assert across.status_code == 404
    assert (merged.status_code, again.status_code) == (201, 409)
    assert (other_tenant_read.status_code, other_tenant_undo.status_code) == (404, 404)
    assert (first_undo.status_code, second_undo.status_code) == (200, 409)
    assert second_undo.json()["type"] == "urn:crm:problem:merge-undone"
    assert unknown_undo.status_code == 404
    for problem in (itself, unknown, across, again, second_undo, unknown_undo):
        assert problem.headers["content-type"] == "application/problem+json"
