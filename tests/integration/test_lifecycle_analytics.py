"""Lifecycle analytics on real PostgreSQL: conversion down the funnel with the median
time in each stage, and the cohort retention matrix, against a hand computation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.events import CloudEvent, new_event
from shared.events.activity import CustomerRegistered
from shared.events.payload import Payload
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import Infra, create_database, run_service
from tests.integration.test_lifecycle_value import QUIET, _purchase, _scores

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _registered(tenant: str, customer: str, at: datetime) -> CloudEvent:
    payload: Payload = CustomerRegistered(channel="web")
    return new_event(
        payload, source="/crm/profile", tenant_id=tenant, key=customer, subject=customer, time=at
    )


async def test_conversion_time_in_stage_and_cohorts_match_a_hand_count(
    infra: Infra, bus: KafkaBus, tenant: str
) -> None:
    await create_database(infra, "lifecycle")
    converts, stays, returns = (str(uuid.uuid4()) for _ in range(3))
    events = [
        _registered(tenant, converts, NOW - timedelta(days=10)),
        _purchase(tenant, converts, NOW - timedelta(days=8), 1000),  # prospect 2 days
        _registered(tenant, stays, NOW - timedelta(days=9)),  # a prospect still
        _purchase(tenant, returns, datetime(2026, 10, 5, 12, tzinfo=UTC), 1000),
        _purchase(tenant, returns, datetime(2026, 11, 10, 12, tzinfo=UTC), 1000),  # 36 days
    ]
    async with run_service(
        infra, "lifecycle", clock=FrozenClock(NOW), tenant=tenant, **QUIET
    ) as lc:
        await publish_events(bus, *events)

        async def folded() -> bool:
            scores = await _scores(lc, tenant)
            return len(scores) == 3 and sum(int(s["orders"]) for s in scores.values()) == 3  # type: ignore[call-overload]

        await eventually(folded, within=30)
        window = "from=2026-10-21T12:00:00Z&to=2026-11-21T00:00:00Z"
        funnel = (await lc.client.get(f"/v1/lifecycle/funnel/conversion?{window}")).json()
        months = "from=2026-09-01T00:00:00Z&to=2026-12-01T00:00:00Z"
        cohorts = (await lc.client.get(f"/v1/lifecycle/cohorts?{months}")).json()

    conversions = {(c["from"], c["to"]): c for c in funnel["conversions"]}
    prospect = conversions["prospect", "lead"]
    assert (prospect["entered"], prospect["converted"], prospect["rate"]) == (2, 1, 0.5)
    new = conversions["new_customer", "active"]
    assert (new["entered"], new["converted"], new["rate"]) == (1, 0, 0.0)
    times = {t["stage"]: (t["stays"], t["median_days"]) for t in funnel["time_in_stage"]}
    assert times["prospect"] == (1, 2.0)
    assert times["new_customer"] == (1, 36.0)
    assert times["loyal"] == (0, None)
    assert cohorts["cohorts"] == [
        {"month": "2026-10", "customers": 1, "active": [1, 1], "retention": [1.0, 1.0]},
        {"month": "2026-11", "customers": 1, "active": [1], "retention": [1.0]},
    ]
