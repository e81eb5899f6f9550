"""The transactional outbox on real PostgreSQL and Kafka: events leave only with
their committed state change, every row exactly once, in order per customer."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import topics
from shared.bus import Message, Outcome
from shared.bus.kafka import KafkaBus
from shared.db import create_engine
from shared.events import decode
from shared.outbox import OutboxRelay
from shared.uow import Database
from tests.integration.conftest import (
    about,
    counter_value,
    header,
    outbox_rows,
    read_topic,
    receive,
)
from tests.integration.harness import OUTBOX, SERVICE, increment, purchase


async def test_a_committed_outbox_row_reaches_kafka_and_leaves_the_outbox(
    db: Database, relay: OutboxRelay, bus: KafkaBus, engine: AsyncEngine, tenant: str, customer: str
) -> None:
    event = purchase(customer, tenant)
    async with db.unit_of_work() as uow:
        await increment(uow, Counter({customer: 1}))
        uow.publish(event)
        await uow.commit()

    assert await relay.relay_once() == 1

    [record] = await receive(bus, topics.ACTIVITY, customer, count=1)
    received = decode(record.value)
    assert (received.id, received.type) == (event.id, event.type)
    assert await counter_value(engine, customer) == 1
    assert await outbox_rows(engine) == 0


async def test_nothing_is_published_when_the_unit_of_work_does_not_commit(
    db: Database, relay: OutboxRelay, bus: KafkaBus, engine: AsyncEngine, tenant: str, customer: str
) -> None:
    async with db.unit_of_work() as uow:
        await increment(uow, Counter({customer: 1}))
        uow.publish(purchase(customer, tenant))

    assert await relay.relay_once() == 0
    assert await receive(bus, topics.ACTIVITY, customer, count=1, within=2.0) == []
    assert await counter_value(engine, customer) == 0
    assert await outbox_rows(engine) == 0


@pytest.mark.usefixtures("empty_outbox")
async def test_two_racing_relays_publish_every_row_exactly_once_in_order_per_key(
    db: Database, database_url: str, servers: str, prefix: str, tenant: str
) -> None:
    customers = [str(uuid.uuid4()) for _ in range(10)]
    for _ in range(4):
        async with db.unit_of_work() as uow:
            uow.publish(*(purchase(customers[i % 10], tenant) for i in range(250)))
            await uow.commit()
    expected = await _outbox_order(db.engine)

    sent = await asyncio.gather(
        _relay_until_empty(database_url, servers, prefix, "a"),
        _relay_until_empty(database_url, servers, prefix, "b"),
    )

    on_topic = [
        (r.key.decode(), decode(r.value).id)
        for r in await read_topic(servers, prefix, topics.ACTIVITY)
        if r.key is not None and r.key.decode() in customers
    ]
    copies = Counter(event_id for _, event_id in on_topic)
    assert sum(sent) == 1000
    assert len(copies) == 1000 and set(copies.values()) == {1}
    assert _by_key(on_topic) == _by_key(expected)


async def test_the_cloudevents_sdk_parses_what_the_relay_wrote(
    db: Database, relay: OutboxRelay, servers: str, prefix: str, tenant: str, customer: str
) -> None:
    event = purchase(customer, tenant)
    async with db.unit_of_work() as uow:
        uow.publish(event)
        await uow.commit()
    await relay.relay_once()

    [record] = await about(servers, prefix, topics.ACTIVITY, customer)
    assert header(record, "content-type") == "application/cloudevents+json"
    parsed = from_kafka_event(
        KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )

    assert parsed.get_id() == str(event.id)
    assert parsed.get_type() == "crm.activity.purchase_completed.v1"
    assert parsed.get_source() == event.source
    assert parsed.get_subject() == customer
    assert parsed.get_time() == event.time
    assert parsed.get_extension("tenantid") == tenant
    assert parsed.get_extension("partitionkey") == customer
    assert parsed.get_data() == event.data


async def _relay_until_empty(database_url: str, servers: str, prefix: str, name: str) -> int:
    """One relay replica (its own engine and producer) relaying until the outbox is empty."""
    engine, bus = create_engine(database_url), _UnevenBus(servers, f"relay-{name}", prefix)
    await bus.start()
    relay = OutboxRelay(engine, OUTBOX, bus, service=SERVICE, batch_size=50)
    sent = 0
    try:
        async with asyncio.timeout(30):
            while True:
                batch = await relay.relay_once()
                sent += batch
                if not batch and not await outbox_rows(engine):
                    return sent
                if not batch:
                    await asyncio.sleep(0.005)  # the other replica holds the relay lock
    finally:
        await bus.stop()
        await engine.dispose()


class _UnevenBus(KafkaBus):
    """A replica's bus that takes a few milliseconds more or less to publish, as over a
    network: were replicas to relay in parallel, a later batch would overtake an earlier one."""

    async def publish_each(self, messages: Sequence[Message]) -> list[Outcome]:
        await asyncio.sleep(random.uniform(0, 0.01))
        return await super().publish_each(messages)


async def _outbox_order(engine: AsyncEngine) -> list[tuple[str, uuid.UUID]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(OUTBOX.c.key, OUTBOX.c.event_id).order_by(OUTBOX.c.id))
    return [(key, event_id) for key, event_id in rows]


def _by_key(pairs: list[tuple[str, uuid.UUID]]) -> dict[str, list[uuid.UUID]]:
    order: defaultdict[str, list[uuid.UUID]] = defaultdict(list)
    for key, event_id in pairs:
        order[key].append(event_id)
    return dict(order)
