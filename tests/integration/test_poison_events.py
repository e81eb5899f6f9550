"""Deterministic errors are poison at once, on real PostgreSQL and Kafka: the event that
causes one is dead-lettered without retries (its reason naming the error, never the
data), the rest of its batch applies; an infrastructure error is waited out instead.

(Named to run after test_deadletter: that test's always-failing consumer reads
crm.activity from its start, so what runs before it must leave few events there.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import topics
from shared.bus.kafka import KafkaBus
from shared.consumer import Consumer
from shared.events import CloudEvent, encode
from shared.subscription import BatchHandler, Received
from shared.uow import UnitOfWork
from tests.integration.conftest import (
    counter_value,
    dead_letters,
    header,
    inbox_rows,
    publish_events,
    receive,
)
from tests.integration.harness import SERVICE, count_events, counting, purchase

MakeConsumer = Callable[..., Consumer]


def overflowing_on(poison: CloudEvent, batches: list[list[CloudEvent]]) -> BatchHandler:
    """A counting handler whose sum overflows BIGINT in PostgreSQL when ``poison`` is in its
    batch (a real NumericValueOutOfRange: the statement carries the customer's id)."""

    async def handle(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        batches.append([r.event for r in batch])
        for received in batch:
            if received.event.id == poison.id:
                await uow.conn.execute(
                    text("SELECT CAST(:big AS BIGINT) + 1 AS total, :who AS who"),
                    {"big": 2**63 - 1, "who": received.event.subject},
                )
        await count_events(uow, batch)

    return handle


def retries(group: str) -> float:
    labels = {"service": SERVICE, "consumer": group}
    return REGISTRY.get_sample_value("crm_consumer_retries_total", labels) or 0.0


def dead_lettered(group: str, reason: str) -> float:
    labels = {"service": SERVICE, "consumer": group, "reason": reason}
    return REGISTRY.get_sample_value("crm_dead_letters_total", labels) or 0.0


async def test_an_overflow_is_dead_lettered_at_once_and_the_rest_of_the_batch_applies(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    events = [purchase(customer, tenant) for _ in range(128)]
    poison = events[77]
    await publish_events(bus, *events)
    records = await receive(bus, topics.ACTIVITY, customer, count=128)
    batches: list[list[CloudEvent]] = []
    consumer = consumers(counting(group, overflowing_on(poison, batches)), max_attempts=3)

    started = time.monotonic()
    await consumer.process(records)

    assert time.monotonic() - started < 10
    assert await counter_value(engine, customer) == 127
    assert await inbox_rows(engine, group, [poison]) == 0
    assert [b for b in batches if b == [poison]] == [[poison]]  # alone once: no retry
    assert len(batches) <= 2 * 7 + 1  # a bisection, not 128 transactions
    assert retries(group) == 0
    assert dead_lettered(group, "NumericValueOutOfRangeError") == 1
    [dead] = await dead_letters(servers, prefix, group, customer)
    assert dead.value == encode(poison)
    reason = header(dead, "crm-error") or ""
    assert reason == "handler failed: NumericValueOutOfRangeError (SQLSTATE 22003)"
    assert customer not in reason and "SELECT" not in reason


async def test_a_poison_event_alone_in_its_batch_is_tried_once(
    bus: KafkaBus, consumers: MakeConsumer, servers: str, prefix: str, group: str, tenant: str,
    customer: str,
) -> None:  # fmt: skip
    poison = purchase(customer, tenant)
    await publish_events(bus, poison)
    records = await receive(bus, topics.ACTIVITY, customer, count=1)
    batches: list[list[CloudEvent]] = []
    consumer = consumers(counting(group, overflowing_on(poison, batches)), max_attempts=3)

    await consumer.process(records)

    assert batches == [[poison]]
    [dead] = await dead_letters(servers, prefix, group, customer)
    assert "SQLSTATE 22003" in (header(dead, "crm-error") or "")


async def test_an_infrastructure_error_is_waited_out_not_dead_lettered(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    events = [purchase(customer, tenant) for _ in range(3)]
    await publish_events(bus, *events)
    records = await receive(bus, topics.ACTIVITY, customer, count=3)
    outages = [OperationalError("SELECT 1", {}, ConnectionRefusedError()) for _ in range(2)]

    async def flaky(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        if outages:
            raise outages.pop()
        await count_events(uow, batch)

    await consumers(counting(group, flaky), max_attempts=3).process(records)

    assert await counter_value(engine, customer) == 3
    assert await inbox_rows(engine, group, events) == 3
    assert await dead_letters(servers, prefix, group, customer) == []
