"""A sum pushed past BIGINT in a real service (profile's customer 360, on PostgreSQL and
Kafka) is poison: that event is dead-lettered at once, naming the error and no customer
data, while another tenant's events in the same batch apply within a couple of seconds,
and the consumer never retries."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import insert, select

from services.profile import domain
from services.profile.app import VIEW_GROUP
from services.profile.tables import customer_view
from shared.bus.kafka import KafkaBus
from shared.events import CloudEvent, new_event
from shared.events.activity import PurchaseCompleted
from tests.integration.conftest import dead_letters, eventually, header, publish_events
from tests.integration.services import Infra, RunningService, create_database, drop_database
from tests.integration.services import run_service as start

BIGINT_MAX = 2**63 - 1
NEAR_THE_LIMIT = BIGINT_MAX - 1000


def bought(tenant: str, customer: str, amount: int = 129900) -> CloudEvent:
    payload = PurchaseCompleted(
        order_id=f"O-{uuid.uuid4().hex[:8]}", amount_minor=amount, currency="EUR", channel="web"
    )
    return new_event(payload, source="/crm/profile", tenant_id=tenant, key=customer,
                     subject=customer, time=datetime.now(UTC))  # fmt: skip


async def view(profile: RunningService, tenant: str, customer: str) -> dict[str, Any] | None:
    query = select(customer_view).where(
        customer_view.c.tenant_id == tenant, customer_view.c.customer_id == uuid.UUID(customer)
    )
    async with profile.runtime.db.engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def seed_near_the_limit(profile: RunningService, tenant: str, customer: str) -> None:
    row = domain.new_view(tenant, uuid.UUID(customer), datetime.now(UTC))
    row |= {"orders": 9_000_000, "revenue_minor": NEAR_THE_LIMIT, "currency": "EUR"}
    async with profile.runtime.db.engine.begin() as conn:
        await conn.execute(insert(customer_view).values(row))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "profile", **labels}) or 0.0


async def test_an_overflowing_sum_is_dead_lettered_at_once_and_another_tenant_flows(
    infra: Infra, bus: KafkaBus, servers: str, prefix: str
) -> None:
    rich, other = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    whale, others = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(5)]
    await create_database(infra, "profile")
    try:
        async with start(infra, "profile") as profile:
            await seed_near_the_limit(profile, rich, whale)
            canary = str(uuid.uuid4())  # the consumer is up and past any backlog
            await publish_events(bus, bought(other, canary))
            await eventually(lambda: _has_view(profile, other, canary), within=30)
            retried = sample("crm_consumer_retries_total", consumer=VIEW_GROUP)

            published = time.monotonic()
            await publish_events(bus, bought(rich, whale), *(bought(other, c) for c in others))
            for customer in others:
                await eventually(lambda c=customer: _has_view(profile, other, c), within=3)
            took = time.monotonic() - published

            await eventually(lambda: _dead(servers, prefix, whale), within=5)
            whales_view = await view(profile, rich, whale)
            assert sample("crm_consumer_retries_total", consumer=VIEW_GROUP) == retried
    finally:
        await drop_database(infra, "profile")

    assert took < 3
    assert whales_view is not None and whales_view["revenue_minor"] == NEAR_THE_LIMIT
    [dead] = await dead_letters(servers, prefix, VIEW_GROUP, whale)
    reason = header(dead, "crm-error") or ""
    assert reason == "handler failed: DataError (SQLSTATE 22000): OverflowError"
    assert whale not in reason and rich not in reason and str(NEAR_THE_LIMIT) not in reason
    assert sample("crm_dead_letters_total", consumer=VIEW_GROUP, reason="DataError") >= 1


async def _has_view(profile: RunningService, tenant: str, customer: str) -> bool:
    return await view(profile, tenant, customer) is not None


async def _dead(servers: str, prefix: str, customer: str) -> bool:
    return bool(await dead_letters(servers, prefix, VIEW_GROUP, customer))
