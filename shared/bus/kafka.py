"""The bus on Apache Kafka, through aiokafka.

aiokafka's defaults are weaker than Kafka's own: we turn on the idempotent
producer (which implies ``acks=all``) and turn auto-commit off, so an offset is
committed only after the consumer's database transaction has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.bus import Message, Record, next_offsets


class KafkaSubscriber:
    def __init__(self, servers: str, group: str, topics: Sequence[str], prefix: str = "") -> None:
        self._prefix = prefix
        self._consumer = AIOKafkaConsumer(
            *(prefix + t for t in topics),
            bootstrap_servers=servers,
            group_id=prefix + group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
            # A member that died hands its partitions over after 6 s (the broker's minimum).
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def fetch(self, max_records: int, max_wait: float) -> list[Record]:
        batches = await self._consumer.getmany(
            timeout_ms=int(max_wait * 1000), max_records=max_records
        )
        return [
            Record(
                m.topic.removeprefix(self._prefix),
                m.partition,
                m.offset,
                m.key,
                m.value,
                tuple(m.headers),
            )
            for messages in batches.values()
            for m in messages
        ]

    async def lag(self) -> int:
        total = 0
        for partition in self._consumer.assignment():
            highwater = self._consumer.highwater(partition)
            if highwater is not None:
                total += max(0, highwater - await self._consumer.position(partition))
        return total

    async def commit(self, records: Sequence[Record]) -> None:
        offsets = {
            TopicPartition(self._prefix + t, p): o for (t, p), o in next_offsets(records).items()
        }
        if offsets:
            await self._consumer.commit(offsets)


class KafkaBus:
    """``topic_prefix`` namespaces every topic and consumer group, so several
    installations (or test runs) share one cluster without seeing each other."""

    def __init__(self, servers: str, client_id: str, topic_prefix: str = "") -> None:
        self._servers, self._prefix = servers, topic_prefix
        self._producer = AIOKafkaProducer(
            bootstrap_servers=servers,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_batch_size=512 * 1024,
            max_request_size=4 * 1024 * 1024,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, messages: Sequence[Message]) -> None:
        deliveries = [
            await self._producer.send(
                self._prefix + m.topic, m.value, key=m.key, headers=list(m.headers)
            )
            for m in messages
        ]
        await asyncio.gather(*deliveries)

    def subscriber(self, group: str, topics: Sequence[str]) -> KafkaSubscriber:
        return KafkaSubscriber(self._servers, group, topics, self._prefix)

    async def ping(self) -> None:
        async with asyncio.timeout(3):
            await self._producer.client.fetch_all_metadata()
