"""Early events on real PostgreSQL and Kafka: a refund before its purchase (loyalty)
and a resolution before its complaint (feedback) are parked, applied when what they
wait for arrives, and dead-lettered on ``crm.deadletter`` with the reason when they
wait past ``CRM_PARKED_EVENT_MAX_WAIT_HOURS``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.feedback import app as feedback_app
from services.feedback.tables import complaint
from services.loyalty import app as loyalty_app
from services.loyalty.tables import parked
from shared import topics
from shared.clock import FrozenClock
from shared.events.activity import OrderRefunded
from tests.integration.conftest import about, eventually, publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service
from tests.integration.test_feedback_service import filed, resolved
from tests.integration.test_loyalty_service import (
    T0,
    balance_becomes,
    entries,
    event,
    purchase,
)


@pytest.fixture(scope="module")
async def loyalty(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "loyalty")
    async with run_service(infra, "loyalty", clock=FrozenClock(T0)) as service:
        yield service


@pytest.fixture(scope="module")
async def feedback(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "feedback")
    async with run_service(infra, "feedback", clock=FrozenClock(T0)) as service:
        yield service


async def parked_for(service: RunningService, table, customer: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with service.runtime.db.engine.connect() as conn:
        query = select(table.c.waits_for).where(table.c.customer_id == uuid.UUID(customer))
        return list((await conn.execute(query)).scalars())


async def test_a_refund_before_its_purchase_reverses_its_points_when_it_comes(
    loyalty, bus, customer
):
    refund = OrderRefunded(order_id="O-1", amount_minor=50000, currency="CNY")
    await publish_events(bus, event(refund, customer, T0 + timedelta(hours=1)))

    async def is_parked() -> bool:
        return await parked_for(loyalty, parked, customer) == ["order:O-1"]

    await eventually(is_parked)
    await publish_events(bus, purchase(customer, "O-1", 100000))

    await balance_becomes(loyalty, customer, 500)
    assert sorted(await entries(loyalty, customer)) == [("earn", 1000), ("reverse", -500)]
    assert await parked_for(loyalty, parked, customer) == []


async def test_a_refund_whose_purchase_never_comes_is_dead_lettered(
    loyalty, bus, customer, servers, prefix
):
    refund = OrderRefunded(order_id="O-404", amount_minor=100, currency="CNY")
    await publish_events(bus, event(refund, customer))

    async def is_parked() -> bool:
        return await parked_for(loyalty, parked, customer) == ["order:O-404"]

    await eventually(is_parked)
    clock = loyalty.runtime.clock
    clock.move_to(T0 + timedelta(hours=72, seconds=1))
    try:
        parking = loyalty_app.parking(loyalty.runtime)
        swept = await parking.expire(loyalty.runtime.db, loyalty.runtime.bus, 500)
    finally:
        clock.move_to(T0)

    assert swept.counts["dead_lettered"] >= 1
    assert await parked_for(loyalty, parked, customer) == []
    [letter] = await about(servers, prefix, topics.DEADLETTER, customer)
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["crm-origin"] == "parked" and headers["crm-service"] == "loyalty"
    assert "order 'O-404'" in headers["crm-error"]


async def test_a_resolution_before_its_complaint_closes_it_when_it_is_filed(
    feedback, bus, tenant, customer
):
    await publish_events(bus, resolved(tenant, customer, "T-1", T0 + timedelta(hours=1)))

    async def is_parked() -> bool:
        return await parked_for(feedback, feedback_app.parked, customer) == ["complaint:T-1"]

    await eventually(is_parked)
    await publish_events(bus, filed(tenant, customer, "T-1"))

    async def closed() -> bool:
        async with feedback.runtime.db.engine.connect() as conn:
            query = select(complaint.c.status).where(complaint.c.customer_id == uuid.UUID(customer))
            return list((await conn.execute(query)).scalars()) == ["resolved"]

    await eventually(closed)
    assert await parked_for(feedback, feedback_app.parked, customer) == []
