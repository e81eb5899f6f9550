"""Loyalty's tier distribution on real PostgreSQL and Kafka: customers per tier now, and
the moves between tiers in a window, against a hand count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.events import CloudEvent
from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.envelope import new_event
from shared.events.payload import Payload
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import Infra, create_database, run_service

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _event(tenant: str, payload: Payload, customer: str, at: datetime) -> CloudEvent:
    return new_event(
        payload, source="/test", tenant_id=tenant, key=customer, subject=customer, time=at
    )


def _buy(tenant: str, customer: str, order: str, amount: int) -> CloudEvent:
    bought = PurchaseCompleted(order_id=order, amount_minor=amount, currency="CNY", channel="web")
    return _event(tenant, bought, customer, T0)


async def test_the_tier_distribution_and_its_movements_match_a_hand_count(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "loyalty")
    gold, member, fell = (str(uuid.uuid4()) for _ in range(3))
    async with run_service(infra, "loyalty", clock=FrozenClock(T0), tenant=tenant) as loyalty:
        await publish_events(
            bus,
            _buy(tenant, gold, "O-1", 2_500_000),
            _buy(tenant, member, "O-2", 10_000),
            _buy(tenant, fell, "O-3", 2_500_000),
            _event(tenant, OrderRefunded(order_id="O-3", amount_minor=2_500_000), fell, T0),
        )

        window = "from=2026-02-28T00:00:00Z&to=2026-03-02T00:00:00Z"

        async def settled() -> bool:
            found = await loyalty.client.get(f"/v1/loyalty/tiers/distribution?{window}")
            tiers = {t["tier"]: t["customers"] for t in found.json()["tiers"]}
            return found.json()["downgrades"] == 1 and sum(tiers.values()) == 3

        await eventually(settled, within=30)
        answer = (await loyalty.client.get(f"/v1/loyalty/tiers/distribution?{window}")).json()
        earlier = (await loyalty.client.get(
            "/v1/loyalty/tiers/distribution?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"
        )).json()  # fmt: skip
        reversed_ = await loyalty.client.get(
            "/v1/loyalty/tiers/distribution?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z"
        )

    assert [(t["tier"], t["customers"]) for t in answer["tiers"]] == [
        ("member", 2),
        ("silver", 0),
        ("gold", 1),
        ("platinum", 0),
    ]
    assert abs(answer["tiers"][0]["share"] - 2 / 3) < 1e-9
    assert (answer["upgrades"], answer["downgrades"]) == (2, 1)
    assert [(m["from"], m["to"], m["direction"], m["moves"]) for m in answer["movements"]] == [
        ("gold", "member", "down", 1),
        ("member", "gold", "up", 2),
    ]
    assert earlier["movements"] == [] and earlier["upgrades"] == 0
    assert reversed_.status_code == 422
    assert answer["as_of"] == T0.isoformat().replace("+00:00", "Z")
