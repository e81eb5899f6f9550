"""Segment membership on PostgreSQL and Kafka: it follows a purchase as it is folded,
a window edge as the (frozen) clock passes it, and a rebuild from the topics gives the
same membership."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select

from services.profile.rebuild import rebuild
from services.profile.tables import segment_activity, segment_member
from shared import topics
from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.events import CloudEvent, new_event
from shared.events.activity import PurchaseCompleted
from shared.settings import ServiceSettings
from tests.integration.conftest import eventually, publish_events, receive
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
DAY = timedelta(days=1)
REPEAT_BUYERS = {
    "name": "Repeat buyers",
    "rule": {
        "all": [
            {"activity": "purchase_completed", "within_days": 30, "at_least": 2},
            {"field": "orders", "op": "gte", "value": 2},
        ]
    },
}


def purchase(customer: str, order: str, at: datetime) -> CloudEvent:
    payload = PurchaseCompleted(
        order_id=order, amount_minor=5000, currency="EUR", channel="web", properties={"shop": "A"}
    )
    return new_event(
        payload, source="/crm/profile", tenant_id="default", key=customer, subject=customer, time=at
    )


async def scalar(infra: Infra, query: Any) -> Any:
    engine = create_engine(infra.database_url("profile"))
    try:
        async with engine.connect() as conn:
            return await conn.scalar(query)
    finally:
        await engine.dispose()


async def members(service: RunningService, segment_id: str) -> list[str]:
    answer = await service.client.get(f"/v1/segments/{segment_id}/members")
    assert answer.status_code == 200, answer.text
    return [m["customer_id"] for m in answer.json()["members"]]


async def folded(infra: Infra, customer: str, count: int) -> bool:
    a = segment_activity.c
    query = select(func.count()).where(a.customer_id == uuid.UUID(customer))
    return await scalar(infra, query) == count


async def test_membership_follows_a_purchase_and_a_window_edge(infra: Infra, bus: KafkaBus) -> None:
    await create_database(infra, "profile")
    clock = FrozenClock(NOW)
    customer = str(uuid.uuid4())
    try:
        async with run_service(infra, "profile", clock=clock) as profile:
            created = await profile.client.post("/v1/segments", json=REPEAT_BUYERS)
            assert created.status_code == 201, created.text
            segment_id = created.json()["segment_id"]

            await publish_events(bus, purchase(customer, "O1", NOW - 5 * DAY))
            await eventually(lambda: folded(infra, customer, 1))
            assert await members(profile, segment_id) == []

            await publish_events(bus, purchase(customer, "O2", NOW - DAY))
            await eventually(lambda: _is_member(profile, segment_id, customer))
            sized = (await profile.client.get(f"/v1/segments/{segment_id}")).json()
            assert sized["size"] == 1

            clock.move_to(NOW + 25 * DAY - timedelta(seconds=1))  # O1 still inside 30 days
            swept = await profile.client.post("/v1/segments/sweep")
            assert swept.json()["exited"] == 0
            assert await members(profile, segment_id) == [customer]

            clock.move_to(NOW + 25 * DAY)  # O1 leaves the window: one purchase in 30 days
            swept = await profile.client.post("/v1/segments/sweep")
            assert swept.json() | {"as_of": None} == {
                "evaluated": 1,
                "entered": 0,
                "exited": 1,
                "as_of": None,
            }
            assert await members(profile, segment_id) == []

        records = await receive(bus, topics.PROFILE, customer, count=2)
    finally:
        await drop_database(infra, "profile")
    announced = [orjson.loads(r.value) for r in records]
    assert [e["type"] for e in announced] == [
        "crm.profile.segment_entered.v1",
        "crm.profile.segment_exited.v1",
    ]
    assert {e["data"]["segment_id"] for e in announced} == {segment_id}
    assert announced[1]["data"]["reason"] == "rule"


async def _is_member(service: RunningService, segment_id: str, customer: str) -> bool:
    return await members(service, segment_id) == [customer]


async def test_a_rebuild_from_the_topics_gives_the_same_membership(
    infra: Infra, bus: KafkaBus
) -> None:
    await create_database(infra, "profile")
    settings = ServiceSettings(
        service="profile",
        database_url=infra.database_url("profile"),
        topic_prefix=infra.prefix,
        kafka_bootstrap=infra.settings.kafka_servers,
    )
    clock = FrozenClock(NOW)
    buyers = [str(uuid.uuid4()) for _ in range(3)]
    once = buyers[0]  # bought once: in no segment
    try:
        async with run_service(infra, "profile", clock=clock) as profile:
            segment_id = (await profile.client.post("/v1/segments", json=REPEAT_BUYERS)).json()[
                "segment_id"
            ]
            events = [purchase(once, "A1", NOW - DAY)]
            for i, buyer in enumerate(buyers[1:]):
                events += [
                    purchase(buyer, f"B{i}1", NOW - 3 * DAY),
                    purchase(buyer, f"B{i}2", NOW - 2 * DAY),
                ]
            await publish_events(bus, *events)
            await eventually(lambda: _members_are(profile, segment_id, buyers, sorted(buyers[1:])))
            live = await members(profile, segment_id)

        await rebuild(settings)
        m = segment_member.c
        assert (
            await scalar(infra, select(func.count()).where(m.segment_id == uuid.UUID(segment_id)))
            == 0
        )

        async with run_service(infra, "profile", clock=clock) as profile:
            await eventually(lambda: _members_are(profile, segment_id, buyers, live))
            rebuilt = [m for m in await members(profile, segment_id) if m in buyers]
    finally:
        await drop_database(infra, "profile")
    assert rebuilt == live == sorted(buyers[1:])


async def _members_are(
    service: RunningService, segment_id: str, among: list[str], wanted: list[str]
) -> bool:
    """The members among ``among`` (a rebuild replays other tests' purchases too)."""
    return [m for m in await members(service, segment_id) if m in among] == wanted
