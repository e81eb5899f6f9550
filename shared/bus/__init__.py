"""The event bus: one interface, a Kafka implementation and an in-memory one.

Services never talk to aiokafka directly: the outbox relay publishes through
``Bus.publish`` and consumers read through ``Bus.subscriber``, so the same
handlers run on Kafka (``make up``) and in memory (``make dev``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Message:
    """A message to publish."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default=())


@dataclass(frozen=True)
class Record:
    """A message read back, with where it sits in its topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default=())

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k == name), None)


class Subscriber(Protocol):
    """One member of a consumer group."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def fetch(self, max_records: int, max_wait: float) -> list[Record]:
        """The next batch, in order within each partition; empty after ``max_wait`` seconds."""
        ...

    async def commit(self, records: Sequence[Record]) -> None:
        """Mark ``records`` consumed: the group resumes after them."""
        ...

    async def lag(self) -> int:
        """Messages on this member's partitions after what it has fetched."""
        ...


class Bus(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish and return once every message is durably acknowledged."""
        ...

    def subscriber(self, group: str, topics: Sequence[str]) -> Subscriber: ...

    async def ping(self) -> None:
        """Raise unless the bus answers (for ``/readyz``)."""
        ...


def next_offsets(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """The offset to resume from, per partition, once ``records`` are done."""
    offsets: dict[tuple[str, int], int] = {}
    for record in records:
        position = (record.topic, record.partition)
        offsets[position] = max(offsets.get(position, 0), record.offset + 1)
    return offsets
