"""Through the gateway, on the local topology: a partner naming another partner's
customer's e-mail gets its own customer and a merge candidate, never the customer; an
operator confirms the candidate; lookups, events and the 360 follow the merge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from services.embedded import create_embedded_app
from tests.e2e.conftest import eventually, purchase


async def _key(gateway: httpx.AsyncClient, tenant: str, partner: str, *scopes: str) -> str:
    created = await gateway.post(
        "/v1/admin/api-keys",
        json={"name": partner, "partner": partner, "scopes": list(scopes), "tenant_id": tenant},
    )
    assert created.status_code == 201, created.text
    return created.json()["api_key"]  # type: ignore[no-any-return]


class Caller:
    def __init__(self, gateway: httpx.AsyncClient, key: str) -> None:
        self.gateway, self.headers = gateway, {"Authorization": f"Bearer {key}"}

    async def post(self, event: dict[str, Any]) -> None:
        answer = await self.gateway.post("/v1/events", json=event, headers=self.headers)
        assert answer.status_code == 202, answer.text

    async def lookup(self, source: str, external_id: str) -> str | None:
        found = await self.gateway.get(
            "/v1/customers/lookup",
            params={"source": source, "external_id": external_id},
            headers=self.headers,
        )
        return found.json()["customer_id"] if found.status_code == 200 else None

    async def known(self, source: str, external_id: str) -> str:
        found, _ = await eventually(lambda: self.lookup(source, external_id), bool)
        return found  # type: ignore[no-any-return]

    async def view(self, customer_id: str) -> dict[str, Any]:
        answer = await self.gateway.get(f"/v1/customers/{customer_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: str) -> Any:
        return self.gateway.get(path, params=params, headers=self.headers)

    def decide(self, candidate_id: str, decision: str, **body: str) -> Any:
        return self.gateway.post(
            f"/v1/profile/merge-candidates/{candidate_id}/{decision}",
            json=body or None,
            headers=self.headers,
        )


def _posted_by(
    source: str, external_id: str, event_id: str, order_id: str, **contact: str
) -> dict[str, Any]:
    event = purchase(event_id, external_id, order_id)
    event["customer"] = {"source": source, "external_id": external_id, **contact}
    return event


async def test_a_partner_naming_anothers_email_cannot_take_the_customer_and_a_merge_follows(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    tenant = f"merge-{run_id}"
    pos = Caller(gateway, await _key(gateway, tenant, "pos", "events:write", "customers:read"))
    shop = Caller(gateway, await _key(gateway, tenant, "shop", "events:write", "customers:read"))
    operator = Caller(gateway, await _key(gateway, tenant, "desk", "admin", "customers:read"))
    email, phone = f"li-{run_id}@example.com", f"+45{int(run_id, 16) % 10**8:08d}"
    await pos.post(_posted_by("pos", "C-1", "p1", "O-1", email=email, phone=phone, name="Li Wei"))
    alice = await pos.known("pos", "C-1")
    await eventually(lambda: pos.view(alice), lambda v: v["stats"]["orders"] == 1)

    await shop.post(
        _posted_by("shop", "S-1", "s1", "SO-1", email=email.upper(), name="Mallory",
                   phone="+4499999999")
    )  # fmt: skip
    mallory = await shop.known("shop", "S-1")
    await eventually(lambda: shop.view(mallory), lambda v: v["stats"]["orders"] == 1)

    assert mallory != alice
    details = await pos.view(alice)
    assert (details["name"], details["email"], details["phone"]) == ("Li Wei", email, phone)
    assert details["stats"]["orders"] == 1
    assert (await shop.get("/v1/profile/merge-candidates")).status_code == 403
    listed, _ = await eventually(
        lambda: operator.get("/v1/profile/merge-candidates", status="open"),
        lambda a: a.status_code == 200 and len(a.json()["candidates"]) == 1,
    )
    [candidate] = listed.json()["candidates"]
    assert (candidate["survivor_id"], candidate["merged_id"]) == (alice, mallory)
    assert candidate["matched"] == ["email"]

    confirmed = await operator.decide(candidate["candidate_id"], "confirm", reason="called her")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["decided_by"].startswith("api-key:")
    assert (await operator.decide(candidate["candidate_id"], "confirm")).json() == confirmed.json()
    refused = await operator.decide(candidate["candidate_id"], "dismiss")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"

    assert await shop.lookup("shop", "S-1") == alice
    assert (await shop.view(mallory))["customer_id"] == alice
    await shop.post(_posted_by("shop", "S-1", "s2", "SO-2", email="other@example.com"))
    joined, _ = await eventually(lambda: pos.view(alice), lambda v: v["stats"]["orders"] == 3)
    assert (joined["name"], joined["email"], joined["phone"]) == ("Li Wei", email, phone)


async def test_a_dismissed_candidate_keeps_two_customers(
    gateway: httpx.AsyncClient, run_id: str
) -> None:
    tenant = f"dismiss-{run_id}"
    pos = Caller(gateway, await _key(gateway, tenant, "pos", "events:write", "customers:read"))
    operator = Caller(gateway, await _key(gateway, tenant, "desk", "admin", "customers:read"))
    phone = f"+46{int(run_id, 16) % 10**8:08d}"
    await pos.post(_posted_by("pos", "C-1", "p1", "O-1", phone=phone))
    first = await pos.known("pos", "C-1")
    await pos.post(_posted_by("pos", "C-2", "p2", "O-2", phone=phone))
    second = await pos.known("pos", "C-2")
    listed, _ = await eventually(
        lambda: operator.get("/v1/profile/merge-candidates"),
        lambda a: a.status_code == 200 and len(a.json()["candidates"]) == 1,
    )
    [candidate] = listed.json()["candidates"]

    impersonating = await operator.decide(candidate["candidate_id"], "dismiss", decided_by="ceo")
    dismissed = await operator.decide(candidate["candidate_id"], "dismiss", reason="twins")

    assert impersonating.status_code == 422  # the gateway names the decider, never the caller

    assert (dismissed.status_code, dismissed.json()["status"]) == (200, "dismissed")
    assert (await operator.decide(candidate["candidate_id"], "confirm")).status_code == 409
    assert (await pos.lookup("pos", "C-1"), await pos.lookup("pos", "C-2")) == (first, second)
    open_ = await operator.get("/v1/profile/merge-candidates", status="open")
    assert open_.json()["candidates"] == []


async def test_embedded_mode_keeps_sources_apart_and_merges_on_sqlite(tmp_path: Path) -> None:
    app = create_embedded_app(tmp_path)
    async with app.router.lifespan_context(app):
        key = (tmp_path / "bootstrap-api-key").read_text().strip()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://embedded"
        ) as client:
            operator = Caller(client, key)
            await operator.post(
                _posted_by("pos", "E-1", "e1", "O-1", email="e@example.com", name="Li")
            )
            first = await operator.known("pos", "E-1")
            await operator.post(
                _posted_by("shop", "S-1", "s1", "SO-1", email="E@example.com", name="Other",
                           phone="+4512345678")
            )  # fmt: skip
            second = await operator.known("shop", "S-1")
            listed, _ = await eventually(
                lambda: operator.get("/v1/profile/merge-candidates", status="open"),
                lambda a: len(a.json()["candidates"]) == 1,
            )
            [candidate] = listed.json()["candidates"]

            confirmed = await operator.decide(candidate["candidate_id"], "confirm")

            assert first != second
            assert confirmed.status_code == 200, confirmed.text
            assert await operator.lookup("shop", "S-1") == first
            joined, _ = await eventually(
                lambda: operator.view(second), lambda v: v["stats"]["orders"] == 2
            )
            # the survivor's details win; the one it lacked comes with the merged record
            assert (joined["customer_id"], joined["name"], joined["email"], joined["phone"]) == (
                first,
                "Li",
                "e@example.com",
                "+4512345678",
            )
