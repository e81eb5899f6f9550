"""The bus on Apache Kafka, through aiokafka.

aiokafka's defaults are weaker than Kafka's own: we turn on the idempotent
producer (which implies ``acks=all``) and turn auto-commit off, so an offset is
committed only after the consumer's database transaction has.

An idempotent producer numbers its records per partition. When the broker refuses
a batch for good (a record too large for the topic, say), aiokafka has already
spent those numbers: every later send on that partition fails with
``OutOfOrderSequenceNumber`` and its sender stops, for as long as the process
lives. So a failed delivery retires the producer, and the next publish starts
a fresh one (a new producer id, numbering from zero). Records refused before
they are sent (over ``max_request_size``, an unknown topic) leave it intact.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    KafkaConnectionError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from shared.bus import (
    MAX_MESSAGE_BYTES,
    Message,
    NotSent,
    Outcome,
    Record,
    first_failure,
    message_size,
    next_offsets,
)
from shared.bus.refusals import refusal, retriable
from shared.bus.security import client_options
from shared.bus.stalls import Standing
from shared.settings import ServiceSettings

log = structlog.get_logger()

ClientOptions = Mapping[str, Any]
STANDING_SECONDS = 10.0  # how long the group's coordinator has to tell its offsets


def environment_options() -> dict[str, Any]:
    """The Kafka security options of this process's ``CRM_KAFKA_*`` settings."""
    return client_options(ServiceSettings())


class KafkaSubscriber:
    def __init__(
        self,
        servers: str,
        group: str,
        topics: Sequence[str],
        prefix: str = "",
        options: ClientOptions | None = None,
    ) -> None:
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
            # At least one largest message per partition (see shared.bus on sizes).
            max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
            fetch_max_bytes=16 * MAX_MESSAGE_BYTES,
            **(environment_options() if options is None else options),
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

    async def standing(self) -> Standing:
        partitions = [
            TopicPartition(topic, partition)
            for topic in self._consumer.subscription()
            for partition in self._consumer.partitions_for_topic(topic) or ()
        ]
        ends = await self._consumer.end_offsets(partitions)
        starts = await self._consumer.beginning_offsets(partitions)  # never committed: here
        try:  # asked of the group's coordinator, which may be what is wedged
            async with asyncio.timeout(STANDING_SECONDS):
                committed = [await self._consumer.committed(tp) for tp in partitions]
        except TimeoutError:
            return Standing(None, sum(ends.values()))
        positions = [max(c or 0, starts[tp]) for tp, c in zip(partitions, committed, strict=True)]
        return Standing(sum(positions), sum(ends.values()))

    async def commit(self, records: Sequence[Record]) -> None:
        offsets = {
            TopicPartition(self._prefix + t, p): o for (t, p), o in next_offsets(records).items()
        }
        if offsets:
            await self._consumer.commit(offsets)


class KafkaBus:
    """``topic_prefix`` namespaces every topic and consumer group, so several
    installations (or test runs) share one cluster without seeing each other.
    ``options`` are the clients' security options (``shared.bus.security``); by default
    those of the ``CRM_KAFKA_*`` settings."""

    def __init__(
        self,
        servers: str,
        client_id: str,
        topic_prefix: str = "",
        *,
        options: ClientOptions | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._servers, self._client_id, self._prefix = servers, client_id, topic_prefix
        self._options = environment_options() if options is None else dict(options)
        self.max_message_bytes = max_message_bytes
        self._producer = self._new_producer()
        self._retired: str | None = None  # why the producer must be replaced, if it must
        self._renewal = asyncio.Lock()  # the relay and the consumers share the bus

    @classmethod
    def from_settings(cls, settings: ServiceSettings, client_id: str) -> KafkaBus:
        return cls(
            settings.kafka_servers,
            client_id,
            settings.topic_prefix,
            options=client_options(settings),
        )

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._servers,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_batch_size=512 * 1024,
            max_request_size=self.max_message_bytes,
            **self._options,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, messages: Sequence[Message]) -> None:
        failure = first_failure(await self.publish_each(messages))
        if failure is not None:
            raise failure

    async def publish_each(self, messages: Sequence[Message]) -> list[Outcome]:
        producer = await self._usable_producer()
        outcomes: list[Outcome] = [NotSent() for _ in messages]
        deliveries: list[tuple[int, asyncio.Future[Any]]] = []
        for i, message in enumerate(messages):
            try:
                deliveries.append((i, await self._send(producer, message)))
            except Exception as error:
                # Stop here: a later message of this key must not overtake this one.
                outcomes[i] = self._judge(error, message, before_sending=True)
                break
        for i, delivery in deliveries:
            try:
                await delivery
                outcomes[i] = None
            except Exception as error:
                outcomes[i] = self._judge(error, messages[i], before_sending=False)
        return outcomes

    async def _send(self, producer: AIOKafkaProducer, message: Message) -> asyncio.Future[Any]:
        topic = self._prefix + message.topic
        await self._known_topic(producer, topic)
        headers = list(message.headers)
        return await producer.send(topic, message.value, key=message.key, headers=headers)

    async def _known_topic(self, producer: AIOKafkaProducer, topic: str) -> None:
        """Say at once that a topic does not exist (after a metadata refresh), where
        aiokafka would wait ``request_timeout_ms`` for it on every send."""
        client = producer.client
        if client.cluster.partitions_for_topic(topic) is not None:
            return
        client.add_topic(topic)
        if not await client.force_metadata_update():
            raise KafkaConnectionError("no metadata from the brokers")
        if topic in client.cluster.unauthorized_topics:
            raise TopicAuthorizationFailedError(topic)
        if client.cluster.partitions_for_topic(topic) is None:
            raise UnknownTopicOrPartitionError(topic)

    def _judge(self, error: Exception, message: Message, *, before_sending: bool) -> BaseException:
        """What a failure means for the caller, noting whether the producer is now spent."""
        refused = refusal(error, message_size(message))
        if not before_sending or (refused is None and not retriable(error)):
            self._retired = type(error).__name__
        return refused or error

    async def _usable_producer(self) -> AIOKafkaProducer:
        async with self._renewal:
            if self._retired is not None:
                await self._renew()
            return self._producer

    async def _renew(self) -> None:
        spent, self._producer = self._producer, self._new_producer()
        log.warning("replacing the Kafka producer after a failed send", error=self._retired)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await spent.stop()  # nothing of ours is pending: publish_each awaited it all
        try:
            await self._producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            raise  # still retired: the next publish tries again
        self._retired = None

    def subscriber(self, group: str, topics: Sequence[str]) -> KafkaSubscriber:
        return KafkaSubscriber(self._servers, group, topics, self._prefix, self._options)

    async def ping(self) -> None:
        async with asyncio.timeout(3):
            await self._producer.client.fetch_all_metadata()
