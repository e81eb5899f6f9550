"""The customer 360 is a read model: thrown away, it is folded again from the topics,
merges included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from services.profile.rebuild import GroupStillRunning, rebuild
from services.profile.tables import customer_view
from shared.bus.kafka import KafkaBus
from shared.db import create_engine
from shared.events import CloudEvent, new_event
from shared.events.activity import CustomerRef, Inbound, OrderRefunded, PurchaseCompleted
from shared.events.lifecycle import StageCause, StageChanged
from shared.events.loyalty import PointsEarned
from shared.events.payload import Payload
from shared.settings import ServiceSettings
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import Infra, create_database, drop_database, run_service

T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)


def about(customer: str, payload: Payload, at: datetime, source: str) -> CloudEvent:
    return new_event(
        payload, source=source, tenant_id="default", key=customer, subject=customer, time=at
    )


def history(customer: str) -> list[CloudEvent]:
    """Two purchases, a partial refund, a stage change and points: the 360's inputs."""
    purchase = {"amount_minor": 10000, "currency": "EUR", "channel": "web"}
    earned = PointsEarned(
        entry_id="e",
        points=100,
        order_id="O1",
        rule="base",
        balance_after=100,
        pending_after=0,
        tier="member",
        at=T0,
    )
    stage = StageChanged(to="active", at=T0, cause=StageCause(kind="event", ref="e"))
    day = timedelta(days=1)
    return [
        about(customer, PurchaseCompleted(order_id="O1", **purchase), T0, "/crm/profile"),
        about(customer, PurchaseCompleted(order_id="O2", **purchase), T0 + 3 * day, "/crm/profile"),
        about(
            customer, OrderRefunded(order_id="O2", amount_minor=2500), T0 + 4 * day, "/crm/profile"
        ),
        about(customer, stage, T0, "/crm/lifecycle"),
        about(customer, earned, T0, "/crm/loyalty"),
    ]


async def view_of(infra: Infra, customer: str) -> dict[str, Any] | None:
    engine = create_engine(infra.database_url("profile"))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(customer_view).where(customer_view.c.customer_id == uuid.UUID(customer))
                )
            ).first()
    finally:
        await engine.dispose()
    return {k: v for k, v in row._mapping.items() if k != "updated_at"} if row else None


async def corrupt(infra: Infra, customer: str) -> None:
    engine = create_engine(infra.database_url("profile"))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(customer_view)
                .where(customer_view.c.customer_id == uuid.UUID(customer))
                .values(orders=99, stage="churned")
            )
    finally:
        await engine.dispose()


async def test_a_rebuilt_360_equals_the_one_folded_live(infra: Infra, bus: KafkaBus) -> None:
    await create_database(infra, "profile")
    settings = ServiceSettings(
        service="profile",
        database_url=infra.database_url("profile"),
        topic_prefix=infra.prefix,
        kafka_bootstrap=infra.settings.kafka_servers,
    )
    customer = str(uuid.uuid4())
    try:
        async with run_service(infra, "profile"):
            await publish_events(bus, *history(customer))
            await eventually(lambda: _folded(infra, customer))
            live = await view_of(infra, customer)
            with pytest.raises(GroupStillRunning):
                await rebuild(settings)

        await corrupt(infra, customer)
        await rebuild(settings)
        assert await view_of(infra, customer) is None

        async with run_service(infra, "profile"):
            await eventually(lambda: _folded(infra, customer))
            rebuilt = await view_of(infra, customer)
    finally:
        await drop_database(infra, "profile")

    assert live is not None
    assert (live["orders"], live["revenue_minor"], live["stage"], live["points_balance"]) == (
        2,
        17500,
        "active",
        100,
    )
    assert rebuilt == live


async def _folded(infra: Infra, customer: str) -> bool:
    """Every input has been folded: both orders, the refund, the stage and the points."""
    view = await view_of(infra, customer)
    return bool(
        view
        and (view["orders"], view["revenue_minor"], view["stage"]) == (2, 17500, "active")
        and view["points_balance"] == 100
    )


async def test_a_merge_survives_a_rebuild(infra: Infra, bus: KafkaBus) -> None:
    """The fold learns merges from crm.profile: folded again from the topics, the
    survivor's 360 still counts the merged customer's purchases."""
    await create_database(infra, "profile")
    settings = ServiceSettings(
        service="profile",
        database_url=infra.database_url("profile"),
        topic_prefix=infra.prefix,
        kafka_bootstrap=infra.settings.kafka_servers,
    )
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    try:
        async with run_service(infra, "profile", tenant=tenant) as profile:
            await publish_events(bus, inbound(tenant, "pos", "C-1"), inbound(tenant, "shop", "S-1"))
            candidate = await _candidate(profile.client)
            answer = await profile.client.post(
                f"/v1/profile/merge-candidates/{candidate['candidate_id']}/confirm"
            )
            assert answer.status_code == 200, answer.text
            survivor = candidate["survivor_id"]
            live = await _360_with_orders(profile.client, survivor, 2)

        await rebuild(settings)

        async with run_service(infra, "profile", tenant=tenant) as profile:
            rebuilt = await _360_with_orders(profile.client, survivor, 2)
            merged = await profile.client.get(f"/v1/customers/{candidate['merged_id']}")
    finally:
        await drop_database(infra, "profile")

    assert {**rebuilt, "updated_at": None} == {**live, "updated_at": None}
    assert merged.json()["customer_id"] == survivor


def inbound(tenant: str, source: str, external_id: str) -> CloudEvent:
    """A purchase by a customer whose e-mail another source's customer shares."""
    ref = CustomerRef(source=source, external_id=external_id, email="li@example.com")
    activity = PurchaseCompleted(
        order_id=f"O-{external_id}", amount_minor=1000, currency="EUR", channel="web"
    )
    return new_event(
        Inbound[PurchaseCompleted](
            partner=source, partner_event_id=external_id, customer=ref, activity=activity
        ),
        source=f"/partners/{source}",
        tenant_id=tenant,
        key=f"{source}:{external_id}",
        time=T0,
        partner=source,
    )


async def _candidate(client: httpx.AsyncClient) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def one() -> bool:
        found[:] = (await client.get("/v1/profile/merge-candidates")).json()["candidates"]
        return len(found) == 1

    await eventually(one)
    return found[0]


async def _360_with_orders(client: httpx.AsyncClient, customer: str, orders: int) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    async def folded() -> bool:
        seen[:] = [(await client.get(f"/v1/customers/{customer}")).json()]
        return bool(seen[0]["stats"]["orders"] == orders)

    await eventually(folded)
    return seen[0]
