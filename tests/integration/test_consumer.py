"""Idempotent batch consumers on real PostgreSQL and Kafka: a redelivery has no
second effect, and a message that cannot be applied goes to ``crm.deadletter``
instead of stalling its partition."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from shared import topics
from shared.bus.kafka import KafkaBus
from shared.consumer import Consumer
from shared.events import CloudEvent, encode
from shared.subscription import BatchHandler, Received
from shared.uow import UnitOfWork
from tests.integration.conftest import (
    about,
    committed_past,
    counter_value,
    dead_letters,
    eventually,
    header,
    inbox_rows,
    publish,
    publish_events,
    receive,
    running,
)
from tests.integration.harness import SERVICE, count_events, counting, purchase

MakeConsumer = Callable[..., Consumer]


async def test_a_redelivered_event_has_no_second_effect(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    event = purchase(customer, tenant)
    await publish(bus, topics.ACTIVITY, customer, [encode(event)] * 2)
    first, second = await receive(bus, topics.ACTIVITY, customer, count=2)
    consumer = consumers(counting(group))

    await consumer.process([first])
    await consumer.process([second])  # a batch of its own: only the inbox can drop it
    await consumer.process([first, second])

    assert await counter_value(engine, customer) == 1
    assert await inbox_rows(engine, group, [event]) == 1


async def test_malformed_messages_are_dead_lettered_and_the_consumer_carries_on(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    valid = purchase(customer, tenant)
    malformed = [
        b"\x00not json at all",
        encode(valid.model_copy(update={"type": "crm.activity.purchase_completed.v9"})),
        encode(valid.model_copy(update={"data": {**valid.data, "amount_minor": -1}})),
    ]
    good = purchase(customer, tenant)
    await publish(bus, topics.ACTIVITY, customer, [*malformed, encode(good)])
    ours = await about(servers, prefix, topics.ACTIVITY, customer)

    async with running(consumers(counting(group))) as consumer:
        await eventually(lambda: committed_past(servers, prefix + group, ours), watching=consumer)

    assert await counter_value(engine, customer) == 1
    assert await inbox_rows(engine, group, [good]) == 1
    dead = await dead_letters(servers, prefix, group, customer)
    assert [r.value for r in dead] == malformed  # one dead-letter partition per key: in order
    reasons = [header(r, "crm-error") or "" for r in dead]
    assert "not a valid CloudEvent" in reasons[0]
    assert "does not support crm.activity.purchase_completed.v9" in reasons[1]
    assert "invalid crm.activity.purchase_completed.v1 data" in reasons[2]
    assert {header(r, "crm-service") for r in dead} == {SERVICE}


async def test_a_poison_event_in_a_batch_is_dead_lettered_after_retries_and_the_rest_applied(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    events = [purchase(customer, tenant) for _ in range(5)]
    poison, healthy = events[2], [e for e in events if e is not events[2]]
    await publish_events(bus, *events)
    records = await receive(bus, topics.ACTIVITY, customer, count=5)
    attempts: list[CloudEvent] = []
    consumer = consumers(counting(group, _failing_on(poison, attempts)), max_attempts=3)

    await consumer.process(records)

    assert await counter_value(engine, customer) == 4
    assert await inbox_rows(engine, group, healthy) == 4
    assert await inbox_rows(engine, group, [poison]) == 0
    assert attempts.count(poison) >= 3
    [dead] = await dead_letters(servers, prefix, group, customer)
    assert dead.value == encode(poison)
    assert "handler failed" in (header(dead, "crm-error") or "")


async def test_a_poison_event_alone_in_its_batch_is_dead_lettered_and_the_consumer_carries_on(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    """At low traffic a fetch often brings a single record: that is a batch too."""
    poison = purchase(customer, tenant)
    await publish_events(bus, poison)
    records = await receive(bus, topics.ACTIVITY, customer, count=1)
    consumer = consumers(counting(group, _failing_on(poison, [])), max_attempts=3)

    await consumer.process(records)  # must not raise: run() would stop, stalling the partition

    assert await inbox_rows(engine, group, [poison]) == 0
    [dead] = await dead_letters(servers, prefix, group, customer)
    assert dead.value == encode(poison)
    assert "handler failed" in (header(dead, "crm-error") or "")


async def test_a_consumer_run_again_after_it_stopped_carries_on(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: MakeConsumer,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    """The services' supervisor (shared.app) restarts a crashed consumer by calling run() again."""
    consumer = consumers(counting(group))

    async def counted(times: int) -> bool:
        return await counter_value(engine, customer) == times

    await publish_events(bus, purchase(customer, tenant))
    async with running(consumer) as first_run:
        await eventually(lambda: counted(1), watching=first_run)
    await publish_events(bus, purchase(customer, tenant))
    async with running(consumer) as second_run:
        await eventually(lambda: counted(2), watching=second_run)


def _failing_on(poison: CloudEvent, attempts: list[CloudEvent]) -> BatchHandler:
    """A counting handler that always fails on a batch holding ``poison``; it notes
    every event it is given in ``attempts``."""

    async def handle(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        attempts.extend(r.event for r in batch)
        if any(r.event.id == poison.id for r in batch):
            raise RuntimeError(f"cannot apply {poison.id}")
        await count_events(uow, batch)

    return handle


async def test_a_members_standing_is_its_groups_committed_offsets_and_the_topics_ends(
    bus: KafkaBus, group: str, tenant: str, customer: str
) -> None:
    """What an idle member looks at to find it has stalled (``shared.bus.stalls``), on a
    real broker: behind before it consumed, level once it committed all there is."""
    await publish_events(bus, purchase(customer, tenant), purchase(customer, tenant))
    member = bus.subscriber(group, [topics.ACTIVITY])
    await member.start()
    try:
        before = await member.standing()
        taken: list = []
        for _ in range(100):  # everything on the topic, then one empty fetch
            batch = await member.fetch(500, max_wait=1.0)
            if not batch and taken:
                break
            taken += batch
        await member.commit(taken)
        after = await member.standing()
    finally:
        await member.stop()
    assert before.behind and before.end - (before.committed or 0) >= 2
    assert not after.behind and after.committed == after.end
