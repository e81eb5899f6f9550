"""Manual adjustments on the loyalty service with real PostgreSQL and Kafka: a credit
and a debit with the deciding key, a repeat answering the first answer, concurrent
debits that never overdraw (the account lock, as for redemptions), and the
``points_adjusted`` events on crm.loyalty carrying the reason and the deciding key."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from services.loyalty.tables import adjustment
from shared import topics
from shared.clock import FrozenClock
from shared.events import decode
from tests.integration.conftest import about, publish_events
from tests.integration.services import Infra, RunningService, create_database, run_service
from tests.integration.test_loyalty_service import T0, balance_becomes, purchase, summary

BY = "api-key:0c1e4f62-93a5-4d7b-8f20-6a1d9e3b5c74"


@pytest.fixture(scope="module")
async def loyalty(infra: Infra) -> AsyncIterator[RunningService]:
    await create_database(infra, "loyalty")
    clock = FrozenClock(T0)
    async with run_service(infra, "loyalty", clock=clock, loyalty_sweep_seconds=3600) as service:
        yield service


def adjust(loyalty: RunningService, customer: str, points: int, key: str, reason: str = "receipt"):
    return loyalty.client.post(
        f"/v1/customers/{customer}/loyalty/adjustments",
        json={"points": points, "reason": reason, "adjusted_by": BY},
        headers={"Idempotency-Key": key},
    )


async def test_a_credit_and_a_debit_are_kept_with_their_key_and_announced(
    loyalty, bus, infra, customer
):
    await publish_events(bus, purchase(customer, "O-1", 100000))  # 1000 points
    await balance_becomes(loyalty, customer, 1000)

    credit = await adjust(loyalty, customer, 250, "adj-1", "lost receipt")
    again = await adjust(loyalty, customer, 250, "adj-1", "lost receipt")
    debit = await adjust(loyalty, customer, -1200, "adj-2", "double credit")
    short = await adjust(loyalty, customer, -51, "adj-3")

    assert (credit.status_code, again.status_code, debit.status_code) == (201, 201, 201)
    assert again.json() == credit.json()
    assert credit.json()["balance_after"] == 1250 and debit.json()["balance_after"] == 50
    assert (short.status_code, short.json()["type"]) == (409, "urn:crm:problem:insufficient-points")
    assert (await summary(loyalty, customer))["points_balance"] == 50
    async with loyalty.runtime.db.engine.connect() as conn:
        kept = await conn.execute(
            select(adjustment.c.idempotency_key, adjustment.c.points, adjustment.c.adjusted_by)
            .where(adjustment.c.customer_id == uuid.UUID(customer))
            .order_by(adjustment.c.idempotency_key)
        )
        assert [tuple(r) for r in kept] == [("adj-1", 250, BY), ("adj-2", -1200, BY)]

    async def announced() -> list[dict]:
        records = await about(infra.settings.kafka_servers, infra.prefix, topics.LOYALTY, customer)
        found = [decode(r.value).data for r in records]
        return [a for a in found if str(a.get("ref", "")).startswith("adjustment:")]

    for _ in range(40):  # the relay publishes within moments
        manual = await announced()
        if len(manual) == 2:
            break
        await asyncio.sleep(0.25)
    got = sorted((a["points"], a["reason"], a["adjusted_by"], a["balance_after"]) for a in manual)
    assert got == [(-1200, "double credit", BY, 50), (250, "lost receipt", BY, 1250)]


async def test_concurrent_debits_never_overdraw(loyalty, bus, customer):
    await publish_events(bus, purchase(customer, "O-1", 100000))  # 1000 points
    await balance_becomes(loyalty, customer, 1000)

    answers = await asyncio.gather(*(adjust(loyalty, customer, -30, f"k-{i}") for i in range(50)))

    accepted = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 409]
    assert (len(accepted), len(refused)) == (33, 17)  # 33 × 30 = 990 ≤ 1000 < 34 × 30
    assert all(a.json()["type"] == "urn:crm:problem:insufficient-points" for a in refused)
    assert (await summary(loyalty, customer))["points_balance"] == 10
