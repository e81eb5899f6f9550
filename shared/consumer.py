"""Idempotent batch consumers: bus → inbox + handler in one transaction → offset.

A batch is decoded, unreadable messages go to ``crm.deadletter`` with the
reason, and the rest are applied in one unit of work together with their
inbox rows; the offsets are committed only after that commit. A handler error
retries the batch, then isolates the poison message (one event per
transaction) and dead-letters it, so one bad event never stalls a partition.
Infrastructure errors (the database or the bus away) are never the message's
fault: the batch is retried, not dead-lettered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Table
from sqlalchemy.exc import InterfaceError, OperationalError

from shared import metrics, topics
from shared.bus import Bus, Message, Record
from shared.events import CloudEvent, DecodeError, decode
from shared.events.payload import Payload
from shared.inbox import claim
from shared.uow import Database, UnitOfWork

log = structlog.get_logger()

TRANSIENT = (OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Received:
    """A consumed event: its envelope and its typed payload."""

    event: CloudEvent
    payload: Payload
    record: Record


BatchHandler = Callable[[UnitOfWork, Sequence[Received]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A consumer group of a service: the topics it reads and the types it applies.

    Other types on those topics are skipped, except another version of a type
    it knows, which it cannot apply and so dead-letters.
    """

    group: str
    topics: tuple[str, ...]
    types: frozenset[str]
    handler: BatchHandler
    batch_size: int = 500
    _names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", frozenset(t.rsplit(".", 1)[0] for t in self.types))

    def verdict(self, event_type: str) -> str:
        if event_type in self.types:
            return "apply"
        return "unsupported" if event_type.rsplit(".", 1)[0] in self._names else "ignore"


class Consumer:
    def __init__(
        self,
        subscription: Subscription,
        *,
        service: str,
        bus: Bus,
        db: Database,
        inbox: Table,
        max_attempts: int = 3,
    ) -> None:
        self.subscription = subscription
        self._service, self._bus, self._db, self._inbox = service, bus, db, inbox
        self._max_attempts = max_attempts
        self._labels = (service, subscription.group)
        self.name = subscription.group
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        # A subscriber per run: a stopped Kafka consumer cannot be started again, and the
        # app's supervisor restarts a crashed consumer by calling run() anew.
        subscriber = self._bus.subscriber(self.subscription.group, self.subscription.topics)
        await subscriber.start()
        try:
            while not self._stopping.is_set():
                records = await subscriber.fetch(self.subscription.batch_size, max_wait=0.5)
                if records:
                    await self.process(records)
                    await subscriber.commit(records)
                    metrics.CONSUMER_LAG.labels(*self._labels).set(await subscriber.lag())
        finally:
            await subscriber.stop()

    async def process(self, records: Sequence[Record]) -> None:
        """Apply one batch (the offsets are the caller's to commit afterwards)."""
        started = time.perf_counter()
        accepted, rejected = self._sort(records)
        await _patiently(lambda: self._dead_letter(rejected))
        await _patiently(lambda: self._apply(accepted))
        metrics.BATCH_SECONDS.labels(*self._labels).observe(time.perf_counter() - started)

    def _sort(self, records: Sequence[Record]) -> tuple[list[Received], list[tuple[Record, str]]]:
        accepted: list[Received] = []
        rejected: list[tuple[Record, str]] = []
        seen: set[object] = set()
        for record in records:
            try:
                event = decode(record.value)
                verdict = self.subscription.verdict(event.type)
                if verdict == "unsupported":
                    raise DecodeError(f"{self._service} does not support {event.type}")
                if verdict == "ignore" or event.id in seen:
                    metrics.EVENTS_CONSUMED.labels(*self._labels, "ignored").inc()
                    continue
                accepted.append(Received(event, event.payload(), record))
                seen.add(event.id)
            except DecodeError as error:
                rejected.append((record, str(error)))
        return accepted, rejected

    async def _apply(self, batch: list[Received]) -> None:
        if not batch:
            return
        if len(batch) == 1:
            await self._apply_alone(batch[0])
            return
        try:
            await self._with_retries(batch)
        except TRANSIENT:
            raise
        except Exception:
            log.warning("batch failed; isolating the failing event", size=len(batch))
            for one in batch:
                await self._apply_alone(one)

    async def _apply_alone(self, received: Received) -> None:
        try:
            await self._with_retries([received])
        except TRANSIENT:
            raise
        except Exception as error:
            log.exception("event dead-lettered after retries", event_id=str(received.event.id))
            await self._dead_letter([(received.record, f"handler failed: {error!r}")])

    async def _with_retries(self, batch: list[Received]) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._apply_once(batch)
                return
            except TRANSIENT:
                raise
            except Exception:
                if attempt == self._max_attempts:
                    raise
                await asyncio.sleep(0.05 * attempt)

    async def _apply_once(self, batch: list[Received]) -> None:
        async with self._db.unit_of_work() as uow:
            fresh = await claim(
                uow.conn,
                self._inbox,
                self.subscription.group,
                [r.event.id for r in batch],
                self._db.clock.now(),
            )
            todo = [r for r in batch if r.event.id in fresh]
            if todo:
                await self.subscription.handler(uow, todo)
            await uow.commit()
        metrics.EVENTS_CONSUMED.labels(*self._labels, "applied").inc(len(todo))
        metrics.EVENTS_CONSUMED.labels(*self._labels, "duplicate").inc(len(batch) - len(todo))

    async def _dead_letter(self, rejected: Sequence[tuple[Record, str]]) -> None:
        if not rejected:
            return
        now = self._db.clock.now().isoformat()
        await self._bus.publish(
            [
                Message(
                    topics.DEADLETTER,
                    record.key,
                    record.value or b"",
                    headers=(
                        ("crm-error", reason[:2000].encode()),
                        ("crm-service", self._service.encode()),
                        ("crm-consumer", self.subscription.group.encode()),
                        ("crm-topic", record.topic.encode()),
                        ("crm-partition", str(record.partition).encode()),
                        ("crm-offset", str(record.offset).encode()),
                        ("crm-failed-at", now.encode()),
                    ),
                )
                for record, reason in rejected
            ]
        )
        for record, reason in rejected:
            log.warning("dead-lettered", topic=record.topic, offset=record.offset, reason=reason)
        metrics.EVENTS_CONSUMED.labels(*self._labels, "dead_lettered").inc(len(rejected))


async def _patiently(step: Callable[[], Awaitable[None]]) -> None:
    """Run a step until it succeeds, waiting out infrastructure outages (the database or
    the bus away): the records stay in hand, and their offsets uncommitted."""
    delay = 0.5
    while True:
        try:
            await step()
            return
        except TRANSIENT as error:
            log.warning("consumer waiting for infrastructure", error=str(error), delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)
