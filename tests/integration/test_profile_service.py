"""The profile service on real PostgreSQL and Kafka: a partner reference is the only
automatic key, a shared e-mail or phone becomes a merge candidate an operator decides,
contact details belong to their source, and identities always equal the records."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import event, select

from services.profile import handlers
from services.profile.tables import customer, identity
from shared.bus import Record
from shared.bus.kafka import KafkaBus
from shared.clock import SystemClock
from shared.events import CloudEvent, new_event
from shared.events.activity import CustomerRef, Inbound, PurchaseCompleted
from shared.subscription import Received
from shared.uow import Database
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

LI = "li.wei@example.com"


@pytest.fixture(scope="module")
async def profile(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "profile")
    try:
        async with run_service(infra, "profile") as service:
            yield service
    finally:
        await drop_database(infra, "profile")


def inbound(tenant: str, partner: str, order: str, **customer: str) -> CloudEvent:
    """A purchase as the gateway puts it on crm.inbound for ``partner``."""
    ref = CustomerRef.model_validate(customer)
    activity = PurchaseCompleted(order_id=order, amount_minor=1000, currency="EUR", channel="web")
    payload = Inbound[PurchaseCompleted](
        partner=partner, partner_event_id=order, customer=ref, activity=activity
    )
    return new_event(
        payload,
        source=f"/partners/{partner}",
        tenant_id=tenant,
        key=f"{ref.source}:{ref.external_id}",
        time=datetime.now(UTC),
        partner=partner,
    )


class Profile:
    """The service as one tenant's operator sees it."""

    def __init__(self, service: RunningService, tenant: str) -> None:
        self.service, self.headers = service, {"X-CRM-Tenant": tenant}

    async def lookup(self, source: str, external_id: str) -> str | None:
        answer = await self.service.client.get(
            "/v1/customers/lookup",
            params={"source": source, "external_id": external_id},
            headers=self.headers,
        )
        return answer.json()["customer_id"] if answer.status_code == 200 else None

    async def known(self, source: str, external_id: str) -> str:
        found: list[str] = []

        async def resolved() -> bool:
            found[:] = [f for f in [await self.lookup(source, external_id)] if f]
            return bool(found)

        await eventually(resolved)
        return found[0]

    async def view(self, customer_id: str) -> dict[str, Any]:
        answer = await self.service.client.get(f"/v1/customers/{customer_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def candidates(self, status: str | None = "open") -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        answer = await self.service.client.get(
            "/v1/profile/merge-candidates", params=params, headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["candidates"]  # type: ignore[no-any-return]

    async def one_candidate(self) -> dict[str, Any]:
        async def found() -> bool:
            return len(await self.candidates()) == 1

        await eventually(found)
        return (await self.candidates())[0]

    def decide(self, candidate_id: str, decision: str, **body: str) -> Any:
        return self.service.client.post(
            f"/v1/profile/merge-candidates/{candidate_id}/{decision}",
            json=body or None,
            headers=self.headers,
        )


async def test_a_partner_naming_anothers_email_gets_a_candidate_not_the_customer(
    profile: RunningService, bus: KafkaBus, tenant: str, infra: Infra
) -> None:
    ops = Profile(profile, tenant)
    await publish_events(
        bus, inbound(tenant, "pos", "O-1", source="pos", external_id="C-1", email=LI, name="Li")
    )
    alice = await ops.known("pos", "C-1")

    await publish_events(
        bus,
        inbound(
            tenant, "shop", "S-O-1", source="shop", external_id="S-1", email=LI.upper(),
            name="Mallory", phone="+4512345678",
        ),
    )  # fmt: skip
    mallory = await ops.known("shop", "S-1")
    candidate = await ops.one_candidate()

    assert mallory != alice
    assert {k: (await ops.view(alice))[k] for k in ("name", "email", "phone")} == {
        "name": "Li",
        "email": LI,
        "phone": None,
    }
    assert (candidate["survivor_id"], candidate["merged_id"]) == (alice, mallory)
    assert (candidate["matched"], candidate["status"]) == (["email"], "open")
    announced = await about(infra.settings.kafka_servers, infra.prefix, "crm.profile", mallory)
    types = [orjson.loads(r.value)["type"] for r in announced]
    assert "crm.profile.merge_candidate_found.v1" in types


async def test_confirming_merges_and_lookups_events_and_the_360_follow(
    profile: RunningService, bus: KafkaBus, tenant: str, infra: Infra
) -> None:
    ops = Profile(profile, tenant)
    await publish_events(
        bus, inbound(tenant, "pos", "O-1", source="pos", external_id="C-1", email=LI, name="Li")
    )
    alice = await ops.known("pos", "C-1")
    await publish_events(
        bus, inbound(tenant, "shop", "S-O-1", source="shop", external_id="S-1", email=LI)
    )
    shop = await ops.known("shop", "S-1")
    candidate = await ops.one_candidate()

    confirmed = await ops.decide(candidate["candidate_id"], "confirm", reason="same person")
    again = await ops.decide(candidate["candidate_id"], "confirm")
    dismissed = await ops.decide(candidate["candidate_id"], "dismiss")

    assert confirmed.status_code == 200, confirmed.text
    decided = confirmed.json()
    assert (decided["status"], decided["reason"], decided["merge_id"] is not None) == (
        "confirmed",
        "same person",
        True,
    )
    assert decided["decided_at"] is not None
    assert (again.status_code, again.json()) == (200, decided)
    assert dismissed.status_code == 409
    assert dismissed.json()["type"] == "urn:crm:problem:merge-candidate-decided"
    assert await ops.lookup("shop", "S-1") == alice
    assert (await ops.view(shop))["customer_id"] == alice

    await publish_events(
        bus, inbound(tenant, "shop", "S-O-2", source="shop", external_id="S-1", name="Mallory")
    )

    async def three_orders() -> bool:
        return (await ops.view(alice))["stats"]["orders"] == 3

    await eventually(three_orders)  # two before the merge, the shop's new one after it
    assert (await ops.view(alice))["name"] == "Li"
    merged = [
        orjson.loads(r.value)
        for r in await about(infra.settings.kafka_servers, infra.prefix, "crm.profile", alice)
    ]
    [event] = [e for e in merged if e["type"] == "crm.profile.customers_merged.v1"]
    assert (event["data"]["survivor_id"], event["data"]["merged_id"]) == (alice, shop)
    assert event["data"]["reason"] == "same person"


async def test_dismissing_keeps_them_apart_and_is_final(
    profile: RunningService, bus: KafkaBus, tenant: str
) -> None:
    ops = Profile(profile, tenant)
    await publish_events(bus, inbound(tenant, "pos", "O-1", source="pos", external_id="C-1",
                                      phone="+4512345678"))  # fmt: skip
    await ops.known("pos", "C-1")
    await publish_events(bus, inbound(tenant, "pos", "O-2", source="pos", external_id="C-2",
                                      phone="+4512345678"))  # fmt: skip
    other = await ops.known("pos", "C-2")
    candidate = await ops.one_candidate()

    dismissed = await ops.decide(candidate["candidate_id"], "dismiss")
    again = await ops.decide(candidate["candidate_id"], "dismiss")
    confirmed = await ops.decide(candidate["candidate_id"], "confirm")

    assert (dismissed.status_code, dismissed.json()["status"]) == (200, "dismissed")
    assert again.json() == dismissed.json()
    assert confirmed.status_code == 409
    assert await ops.lookup("pos", "C-2") == other
    assert await ops.candidates() == []
    assert [c["status"] for c in await ops.candidates(None)] == ["dismissed"]


async def test_candidates_are_the_tenants_own_and_bad_input_is_a_problem(
    profile: RunningService, tenant: str
) -> None:
    ops = Profile(profile, tenant)
    unknown = await ops.decide(str(uuid.uuid4()), "confirm")
    bad_status = await profile.client.get(
        "/v1/profile/merge-candidates", params={"status": "maybe"}, headers=ops.headers
    )
    bad_cursor = await profile.client.get(
        "/v1/profile/merge-candidates", params={"cursor": "bm9wZQ=="}, headers=ops.headers
    )
    unknown_field = await ops.decide(str(uuid.uuid4()), "confirm", why="because")

    assert (unknown.status_code, unknown.json()["type"]) == (
        404,
        "urn:crm:problem:merge-candidate-not-found",
    )
    assert (bad_status.status_code, bad_cursor.status_code, unknown_field.status_code) == (
        422,
        422,
        422,
    )


async def test_identities_always_equal_the_records(
    profile: RunningService, bus: KafkaBus, tenant: str
) -> None:
    ops = Profile(profile, tenant)
    events = [
        inbound(tenant, "pos", "1", source="pos", external_id="C-1", email="a@example.com",
                phone="+4511111111"),
        inbound(tenant, "shop", "2", source="shop", external_id="S-1", email="a@example.com"),
        inbound(tenant, "pos", "3", source="pos", external_id="C-2", phone="+4511111111"),
    ]  # fmt: skip
    await publish_events(bus, *events)
    for source, external_id in (("pos", "C-1"), ("shop", "S-1"), ("pos", "C-2")):
        await ops.known(source, external_id)
    await publish_events(
        bus,
        inbound(tenant, "pos", "4", source="pos", external_id="C-1", email="b@example.com"),
        inbound(tenant, "shop", "5", source="shop", external_id="S-1", phone="+4522222222"),
    )

    async def two_candidates_and_b() -> bool:
        view = await ops.view(await ops.known("pos", "C-1"))
        return len(await ops.candidates()) == 2 and view["email"] == "b@example.com"

    await eventually(two_candidates_and_b)
    for candidate in await ops.candidates():
        assert (await ops.decide(candidate["candidate_id"], "confirm")).status_code == 200

    records, identities = await _tables(profile, tenant)
    live = {r.customer_id: r for r in records if r.merged_into is None}
    assert len(records) == 3 and len(live) == 1
    for customer_id, record in live.items():
        for kind in ("email", "phone"):
            value = getattr(record, kind)
            held = {v for k, v, c in identities if k == kind and c == customer_id}
            assert held == ({value} if value else set()), (kind, held, value)
    assert {c for *_, c in identities} == set(live)


async def _tables(profile: RunningService, tenant: str) -> tuple[list[Any], list[Any]]:
    async with profile.runtime.db.engine.connect() as conn:
        records = (await conn.execute(select(customer).where(customer.c.tenant_id == tenant))).all()
        identities = await conn.execute(
            select(identity.c.kind, identity.c.value, identity.c.customer_id).where(
                identity.c.tenant_id == tenant
            )
        )
        return list(records), [tuple(i) for i in identities]


async def test_a_batch_costs_the_same_statements_whatever_its_size(
    profile: RunningService, tenant: str
) -> None:
    """Resolution is set-based: a batch of 40 takes as many statements as one of 4."""
    db = profile.runtime.db
    seed = [_received(tenant, "pos", f"K-{i}", f"k{i}@example.com") for i in range(40)]
    async with db.unit_of_work() as uow:
        await handlers.resolve_inbound(uow, seed, SystemClock())
        await uow.commit()

    def batch(size: int) -> list[Received]:
        """Known customers changing their e-mail, and new ones naming a known e-mail."""
        half = size // 2
        return [_received(tenant, "pos", f"K-{i}", f"new{i}@example.com") for i in range(half)] + [
            _received(tenant, "shop", f"N-{i}", f"k{i + half}@example.com") for i in range(half)
        ]

    small, large = await _statements(db, batch(4)), await _statements(db, batch(40))

    assert small == large <= 12


def _received(tenant: str, source: str, external_id: str, email: str) -> Received:
    event = inbound(tenant, source, f"{source}-{external_id}", source=source,
                    external_id=external_id, email=email)  # fmt: skip
    return Received(event, event.payload(), Record("crm.inbound", 0, 0, None, None))


async def _statements(db: Database, batch: list[Received]) -> int:
    """The statements resolving ``batch`` sends (then rolled back)."""
    sent: list[str] = []
    async with db.unit_of_work() as uow:
        event.listen(
            uow.conn.sync_connection, "before_cursor_execute", lambda *a: sent.append(a[2])
        )
        await handlers.resolve_inbound(uow, batch, SystemClock())
    return len(sent)
