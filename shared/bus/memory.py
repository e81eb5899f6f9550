"""The bus in memory, for embedded mode: one process, no broker.

It keeps Kafka's semantics that handlers rely on: a log per topic, consumer
groups that each see every message once they commit, and order per key (here
one partition per topic, so order overall). It also refuses what Kafka would
refuse, a message over ``max_message_bytes``, so the relay parks an oversized
event in embedded mode exactly as it does on Kafka.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from shared.bus import (
    MAX_MESSAGE_BYTES,
    Message,
    NotSent,
    Outcome,
    Record,
    RecordRejected,
    first_failure,
    message_size,
    next_offsets,
)
from shared.bus.stalls import Standing


class MemorySubscriber:
    def __init__(self, bus: MemoryBus, group: str, topics: Sequence[str]) -> None:
        self._bus, self._group, self._topics = bus, group, list(topics)
        self._position: dict[str, int] = {}

    async def start(self) -> None:
        self._position = {t: self._bus.committed(self._group, t) for t in self._topics}

    async def stop(self) -> None:
        return None

    async def fetch(self, max_records: int, max_wait: float) -> list[Record]:
        async with self._bus.changed:
            if not self._pending():
                try:
                    await asyncio.wait_for(self._bus.changed.wait(), max_wait)
                except TimeoutError:
                    return []
        batch: list[Record] = []
        for topic in self._topics:
            start = self._position[topic]
            taken = self._bus.logs[topic][start : start + max_records - len(batch)]
            batch.extend(taken)
            self._position[topic] = start + len(taken)
        return batch

    def _pending(self) -> bool:
        return any(len(self._bus.logs[t]) > self._position[t] for t in self._topics)

    async def lag(self) -> int:
        return sum(len(self._bus.logs[t]) - self._position[t] for t in self._topics)

    async def standing(self) -> Standing:
        committed = sum(self._bus.committed(self._group, t) for t in self._topics)
        return Standing(committed, sum(len(self._bus.logs[t]) for t in self._topics))

    async def commit(self, records: Sequence[Record]) -> None:
        for (topic, _partition), offset in next_offsets(records).items():
            self._bus.offsets[(self._group, topic)] = offset


class MemoryBus:
    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self.logs: defaultdict[str, list[Record]] = defaultdict(list)
        self.offsets: dict[tuple[str, str], int] = {}
        self.changed = asyncio.Condition()

    def committed(self, group: str, topic: str) -> int:
        return self.offsets.get((group, topic), 0)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, messages: Sequence[Message]) -> None:
        failure = first_failure(await self.publish_each(messages))
        if failure is not None:
            raise failure

    async def publish_each(self, messages: Sequence[Message]) -> list[Outcome]:
        """Append in order up to the first message refused; the rest are not sent."""
        outcomes: list[Outcome] = [NotSent() for _ in messages]
        async with self.changed:
            for i, m in enumerate(messages):
                size = message_size(m)
                if size > self.max_message_bytes:
                    outcomes[i] = RecordRejected(
                        "MessageSizeTooLarge",
                        f"MessageSizeTooLarge: {size} bytes, over {self.max_message_bytes}",
                    )
                    break
                log = self.logs[m.topic]
                log.append(Record(m.topic, 0, len(log), m.key, m.value, m.headers))
                outcomes[i] = None
            self.changed.notify_all()
        return outcomes

    def subscriber(self, group: str, topics: Sequence[str]) -> MemorySubscriber:
        return MemorySubscriber(self, group, topics)

    async def ping(self) -> None:
        return None
