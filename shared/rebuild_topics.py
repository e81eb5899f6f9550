"""The Kafka side of a rebuild (``shared.rebuild``): refuse while the service's consumer
groups have members, read each group's topics from offset 0 to where they end now, and
set each group's offsets there once the state is folded again, so the service, started,
goes on with what arrived meanwhile."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.bus import Record
from shared.bus.security import client_options
from shared.rebuild import Progress, RebuildRefused
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.topics import PARTITIONS

Ends = dict[TopicPartition, int]


async def refuse_if_running(settings: ServiceSettings, groups: Sequence[str]) -> None:
    """``RebuildRefused`` when one of ``groups`` has a running member."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_servers, **client_options(settings)
    )
    await admin.start()
    try:
        running: dict[str, int] = {}
        # One group a request: aiokafka 0.14 misreads the answer about several at once
        # (the second group's fields shift, and the next ones overrun the buffer).
        for group in groups:
            described = await admin.describe_consumer_groups([settings.topic_prefix + group])
            running |= {g[1]: len(g[5]) for d in described for g in d.groups if g[5]}
    finally:
        await admin.close()
    if running:
        names = ", ".join(f"{group} ({n})" for group, n in running.items())
        raise RebuildRefused(
            f"consumers of {names} are running; stop the {settings.service} service first"
        )


async def read(
    settings: ServiceSettings, subscription: Subscription, progress: Progress
) -> tuple[list[Record], Ends]:
    """Every record of the subscription's topics up to their current ends, and the ends."""
    consumer = _consumer(settings, None)
    await consumer.start()
    try:
        partitions = _partitions(settings, subscription)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        # Each position set here, before the first fetch: ``seek_to_beginning`` only asks
        # for a reset, and ``position`` could answer the end first (the default reset
        # policy), leaving a group's events unread and its state folded without them.
        for partition, first in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(partition, first)
        records: list[Record] = []
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, messages in fetched.items():
                records += [
                    Record(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers))
                    for m in messages
                    if m.offset < ends[tp]
                ]
            progress(f"{subscription.group}: read {len(records):,} events")
        return records, ends
    finally:
        await consumer.stop()


async def commit(settings: ServiceSettings, group: str, ends: Ends) -> None:
    """Make ``ends`` the group's committed position."""
    consumer = _consumer(settings, settings.topic_prefix + group)
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.commit(ends)
    finally:
        await consumer.stop()


def _partitions(settings: ServiceSettings, subscription: Subscription) -> list[TopicPartition]:
    return [
        TopicPartition(settings.topic_prefix + topic, p)
        for topic in subscription.topics
        for p in range(PARTITIONS[topic])
    ]


def _consumer(settings: ServiceSettings, group: str | None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        group_id=group,
        enable_auto_commit=False,
        **client_options(settings),
    )
