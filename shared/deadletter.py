"""Dead letters: what failed, where and why; and sending them back once they can succeed.

    python -m shared.deadletter list [--service S] [--limit N]
    python -m shared.deadletter replay --service S

A dead letter keeps the original bytes and key, with headers naming the
service, the consumer group, the topic and offset it came from, and the error.
``replay`` republishes a service's dead letters to the topics they came from,
each once (a consumer group remembers where the last replay stopped). Every
consumer of that topic sees the message again; those that had applied it drop
it by their inbox, so a replay is safe for everyone.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import topics
from shared.bus import Message, Record
from shared.bus.kafka import KafkaBus
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class DeadLetter:
    record: Record

    @property
    def service(self) -> str | None:
        return self.record.header("crm-service")

    @property
    def origin(self) -> str | None:
        return self.record.header("crm-topic")

    @property
    def error(self) -> str | None:
        return self.record.header("crm-error")

    def describe(self) -> str:
        r = self.record
        where = f"{self.origin}[{r.header('crm-partition')}]@{r.header('crm-offset')}"
        return (
            f"{r.partition}:{r.offset}  {r.header('crm-failed-at')}  {self.service}  "
            f"{where}  key={(r.key or b'').decode(errors='replace')}\n    {self.error}"
        )


async def read(
    servers: str, prefix: str, *, group: str | None = None, limit: int | None = None
) -> list[DeadLetter]:
    """Dead letters up to the topic's current end: all of them, or (with ``group``)
    those after the group's last committed position."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        return await _read_to_end(consumer, prefix + topics.DEADLETTER, group, limit)
    finally:
        await consumer.stop()


async def _read_to_end(
    consumer: AIOKafkaConsumer, topic: str, group: str | None, limit: int | None
) -> list[DeadLetter]:
    partitions = [TopicPartition(topic, p) for p in range(topics.PARTITIONS[topics.DEADLETTER])]
    consumer.assign(partitions)
    if group is None:
        await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    found: list[DeadLetter] = []
    while [p for p in partitions if await consumer.position(p) < ends[p]]:
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            for m in messages:
                if m.offset < ends[TopicPartition(m.topic, m.partition)]:
                    record = Record(
                        topics.DEADLETTER, m.partition, m.offset, m.key, m.value, tuple(m.headers)
                    )
                    found.append(DeadLetter(record))
        if limit is not None and len(found) >= limit:
            return found[:limit]
    return found


async def replay(servers: str, prefix: str, service: str) -> list[DeadLetter]:
    """Republish the dead letters of ``service`` not replayed before; returns them."""
    group = f"{prefix}crm-deadletter-replay-{service}"
    seen = await read(servers, prefix, group=group)
    letters = [d for d in seen if d.service == service and d.origin]
    bus = KafkaBus(servers, client_id=group, topic_prefix=prefix)
    await bus.start()
    try:
        await bus.publish([_back_to_origin(d) for d in letters])
    finally:
        await bus.stop()
    await _remember(servers, prefix, group, seen)
    return letters


def _back_to_origin(letter: DeadLetter) -> Message:
    r = letter.record
    origin = letter.origin or ""
    replayed_from = f"{r.partition}:{r.offset}".encode()
    return Message(origin, r.key, r.value or b"", (("crm-replayed-from", replayed_from),))


async def _remember(servers: str, prefix: str, group: str, seen: Sequence[DeadLetter]) -> None:
    """Commit the replay group past everything it has seen (replayed or another service's)."""
    if not seen:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = {}
        for letter in seen:
            tp = TopicPartition(prefix + topics.DEADLETTER, letter.record.partition)
            ends[tp] = max(ends.get(tp, 0), letter.record.offset + 1)
        consumer.assign(list(ends))
        await consumer.commit(ends)
    finally:
        await consumer.stop()


async def _main(arguments: argparse.Namespace) -> None:
    settings = ServiceSettings()
    servers, prefix = settings.kafka_servers, settings.topic_prefix
    if arguments.command == "list":
        letters = await read(servers, prefix, limit=arguments.limit)
        for letter in letters:
            if arguments.service in (None, letter.service):
                print(letter.describe())
    else:
        replayed = await replay(servers, prefix, arguments.service)
        print(f"replayed {len(replayed)} dead letters of {arguments.service}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show dead letters, oldest first")
    listing.add_argument("--service")
    listing.add_argument("--limit", type=int, default=None)
    replaying = sub.add_parser("replay", help="republish a service's dead letters once")
    replaying.add_argument("--service", required=True)
    asyncio.run(_main(parser.parse_args()))
