"""Dead letters: what failed, where and why; and sending them back once they can succeed.

    python -m shared.deadletter list [--service S] [--limit N]
    python -m shared.deadletter replay --service S

A dead letter keeps the original bytes and key, with headers naming the
service, where it failed (a consumer group and the topic and offset it came
from, or the outbox and the topic it was going to) and the error (see
``shared.letters``). ``replay`` republishes a service's dead letters to their
topics, each once (a consumer group remembers where the last replay stopped).
Every consumer of that topic sees the message again; those that had applied it
drop it by their inbox, so a replay is safe for everyone. A letter whose value
was cut to fit (``crm-value-truncated``) cannot be replayed and is skipped, as is
one the bus still refuses (too large for its topic): both are reported.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import topics
from shared.bus import Message, Record, RecordRejected
from shared.bus.kafka import ClientOptions, KafkaBus, environment_options
from shared.bus.security import client_options
from shared.settings import ServiceSettings

log = structlog.get_logger()


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

    @property
    def position(self) -> str:
        return f"{self.record.partition}:{self.record.offset}"

    @property
    def replayable(self) -> bool:
        """Whether the letter holds the whole original value (see ``shared.letters``)."""
        return bool(self.origin) and self.record.header("crm-value-truncated") is None

    def describe(self) -> str:
        r = self.record
        if r.header("crm-origin") == "outbox":
            where = f"outbox#{r.header('crm-outbox-id')} → {self.origin}"
        else:
            where = f"{self.origin}[{r.header('crm-partition')}]@{r.header('crm-offset')}"
        if not self.replayable:
            where += f" (value cut: {r.header('crm-value-bytes')} bytes, not replayable)"
        return (
            f"{r.partition}:{r.offset}  {r.header('crm-failed-at')}  {self.service}  "
            f"{where}  key={(r.key or b'').decode(errors='replace')}\n    {self.error}"
        )


async def read(
    servers: str,
    prefix: str,
    *,
    group: str | None = None,
    limit: int | None = None,
    options: ClientOptions | None = None,
) -> list[DeadLetter]:
    """Dead letters up to the topic's current end: all of them, or (with ``group``)
    those after the group's last committed position."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **(environment_options() if options is None else options),
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


async def replay(
    servers: str, prefix: str, service: str, *, options: ClientOptions | None = None
) -> list[DeadLetter]:
    """Republish the dead letters of ``service`` not replayed before; returns those
    republished (those that cannot be are logged)."""
    options = environment_options() if options is None else options
    group = f"{prefix}crm-deadletter-replay-{service}"
    seen = await read(servers, prefix, group=group, options=options)
    mine = [d for d in seen if d.service == service]
    for letter in (d for d in mine if not d.replayable):
        log.warning("dead letter not replayable: its value was cut", letter=letter.position)
    bus = KafkaBus(servers, client_id=group, topic_prefix=prefix, options=options)
    await bus.start()
    try:
        replayed = await _republish(bus, [d for d in mine if d.replayable])
    finally:
        await bus.stop()
    await _remember(servers, prefix, group, seen, options)
    return replayed


async def _republish(bus: KafkaBus, letters: list[DeadLetter]) -> list[DeadLetter]:
    """Send ``letters`` back in order, skipping (and logging) any the bus refuses for good."""
    replayed: list[DeadLetter] = []
    while letters:
        outcomes = await bus.publish_each([_back_to_origin(d) for d in letters])
        replayed += [d for d, o in zip(letters, outcomes, strict=True) if o is None]
        failed = [(d, o) for d, o in zip(letters, outcomes, strict=True) if o is not None]
        if not failed:
            break
        letter, error = failed[0]
        if not isinstance(error, RecordRejected):
            raise error
        log.warning("dead letter refused by its topic", letter=letter.position, reason=error.reason)
        letters = [d for d, _ in failed[1:]]
    return replayed


def _back_to_origin(letter: DeadLetter) -> Message:
    r = letter.record
    origin = letter.origin or ""
    replayed_from = f"{r.partition}:{r.offset}".encode()
    own = tuple((k, v) for k, v in r.headers if not k.startswith("crm-"))
    return Message(origin, r.key, r.value or b"", (*own, ("crm-replayed-from", replayed_from)))


async def _remember(
    servers: str, prefix: str, group: str, seen: Sequence[DeadLetter], options: ClientOptions
) -> None:
    """Commit the replay group past everything it has seen (replayed or another service's)."""
    if not seen:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=group, enable_auto_commit=False, **options
    )
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
    options = client_options(settings)
    if arguments.command == "list":
        letters = await read(servers, prefix, limit=arguments.limit, options=options)
        for letter in letters:
            if arguments.service in (None, letter.service):
                print(letter.describe())
    else:
        replayed = await replay(servers, prefix, arguments.service, options=options)
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
