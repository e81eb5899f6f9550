"""The event bus: one interface, a Kafka implementation and an in-memory one.

Services never talk to aiokafka directly: the outbox relay publishes through
``Bus.publish_each`` and consumers read through ``Bus.subscriber``, so the same
handlers run on Kafka (``make up``) and in memory (``make dev``).

Sizes, consistent end to end (one number, ``MAX_MESSAGE_BYTES`` = 1 MiB):
- every topic is created with ``max.message.bytes`` = 1 MiB (python -m shared.topics_admin; the
  broker's ``message.max.bytes`` says the same), the largest record batch it accepts;
- the producer's ``max_request_size`` is the same 1 MiB, so a record that no topic would
  take is refused before it is sent (``RecordRejected``), and its ``max_batch_size``
  (512 KiB) is below it, so a batch of small records always fits;
- consumers fetch up to 1 MiB per partition (and the broker hands over a larger batch
  anyway rather than stall), at most 16 MiB per fetch;
- the in-memory bus refuses what Kafka would refuse, so embedded mode behaves the same;
- the gateway's envelope budget is well under 1 MiB: the pipeline copes with whatever
  reaches an outbox, but partners should hear "too large" at ingestion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from shared.bus.stalls import Standing

Headers = tuple[tuple[str, bytes], ...]

MAX_MESSAGE_BYTES: Final = 1024 * 1024
# Room for what Kafka adds around a record (batch header, lengths, timestamps): our size
# estimate is never below the producer's own.
_RECORD_OVERHEAD: Final = 128


@dataclass(frozen=True)
class Message:
    """A message to publish."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default=())


def message_size(message: Message) -> int:
    """An upper bound of the bytes ``message`` takes in a record batch of its own."""
    headers = sum(len(name.encode()) + len(value) + 10 for name, value in message.headers)
    return _RECORD_OVERHEAD + len(message.key or b"") + len(message.value) + headers


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
        for key, value in self.headers:  # a plain loop: consumers ask this of every record
            if key == name:
                return value.decode()
        return None


class RecordRejected(Exception):
    """The bus refuses this message and always will: too large, invalid, a topic that does
    not exist or may not be written, a key or value it cannot serialise. Publishing it
    again cannot help; it is the sender's to park (``crm.deadletter``) and move on.

    ``kind`` is a short class name (a metrics label), ``reason`` a sentence for operators:
    neither ever holds the message's content.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


class NotSent(Exception):
    """Not attempted: an earlier message of the same call failed first."""


Outcome = BaseException | None


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

    async def standing(self) -> Standing:
        """The group's committed offsets and its topics' ends, over every partition
        (``shared.bus.stalls``: how an idle member finds it has stalled)."""
        ...


class Bus(Protocol):
    max_message_bytes: int
    """The largest message (``message_size``) the bus accepts."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish and return once every message is durably acknowledged; raise otherwise
        (the first failure)."""
        ...

    async def publish_each(self, messages: Sequence[Message]) -> list[Outcome]:
        """Publish in order and say what became of each message: ``None`` once durably
        acknowledged, ``RecordRejected`` if the bus will never take it, another error
        (the bus away, a producer to be renewed, ``NotSent``) if it may later.

        For every key, the acknowledged messages are a prefix of that key's messages in
        the call: nothing is acknowledged after a message of its key that failed. A bus
        recovers by itself from a failed send (a fresh producer for the next call).
        """
        ...

    def subscriber(self, group: str, topics: Sequence[str]) -> Subscriber: ...

    async def ping(self) -> None:
        """Raise unless the bus answers (for ``/readyz``)."""
        ...


def first_failure(outcomes: Sequence[Outcome]) -> BaseException | None:
    return next((o for o in outcomes if o is not None), None)


def next_offsets(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """The offset to resume from, per partition, once ``records`` are done."""
    offsets: dict[tuple[str, int], int] = {}
    for record in records:
        position = (record.topic, record.partition)
        offsets[position] = max(offsets.get(position, 0), record.offset + 1)
    return offsets
