"""Idempotent batch consumers: bus → inbox + handler in one transaction → offset.

A batch is decoded, unreadable messages go to ``crm.deadletter`` with the
reason, and the rest are applied in one unit of work together with their
inbox rows; the offsets are committed only after that commit.

A handler error is treated by its kind (``shared.failures``). Infrastructure
errors (the database or the bus away) are never the message's fault: the batch
waits in hand, and is never dead-lettered. An error the message causes, the
same on every attempt (a value out of range, a sum past BIGINT, a violated
constraint), is not retried: the batch is bisected (each half applied on its
own, the failing half split again) down to the poison event(s), which are
dead-lettered at once while the rest applies: for one bad event among 500,
about twenty transactions instead of 500. Any other error retries the batch a
few times first, and a single event a few times before it is dead-lettered.
Halves are applied in order, so events of one customer keep their order.
"""

from __future__ import annotations

import asyncio
import sysconfig
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import Table

from shared import metrics, tracing
from shared.bus import Bus, Message, Record
from shared.bus.stalls import STALL_SECONDS, StallWatch
from shared.events import DecodeError, decode
from shared.events.envelope import TYPE_HEADER, tenant_of_encoded
from shared.events.payload import Payload
from shared.failures import TRANSIENT, Kind, cause_name, classify, describe, is_conflict
from shared.inbox import claim
from shared.letters import dead_letter
from shared.subscription import Received, Subscription
from shared.uow import Database

log = structlog.get_logger()

__all__ = ["TRANSIENT", "Consumer"]


@dataclass(frozen=True)
class Rejection:
    """A record to dead-letter: why (for people) and the error's class (for metrics)."""

    record: Record
    reason: str
    cause: str


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
        batch_size: int = 500,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.subscription = subscription
        self._service, self._bus, self._db, self._inbox = service, bus, db, inbox
        self._max_attempts = max_attempts
        self._stall_seconds = stall_seconds
        self._batch_size = subscription.batch_size or batch_size
        self._labels = (service, subscription.group)
        self.name = subscription.group
        self.applied = 0  # events this member applied (how replicas shared a group's work)
        self._stopping = asyncio.Event()
        self._spans: tracing.Consumed | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        # A subscriber per run: a stopped Kafka consumer cannot be started again, and the
        # app's supervisor restarts a crashed consumer by calling run() anew.
        # An idle member looks at its group now and then: one that stalled behind raises
        # ``Stalled`` and is started again (``shared.bus.stalls``).
        subscriber = self._bus.subscriber(self.subscription.group, self.subscription.topics)
        watch = StallWatch(self._stall_seconds, look_seconds=min(30.0, self._stall_seconds / 4))
        await subscriber.start()
        try:
            while not self._stopping.is_set():
                records = await subscriber.fetch(self._batch_size, max_wait=0.5)
                if records:
                    await self.process(records)
                    await subscriber.commit(records)
                    metrics.CONSUMER_LAG.labels(*self._labels).set(await subscriber.lag())
                    watch.consumed()
                elif watch.due():
                    watch.look(await subscriber.standing())
        finally:
            await subscriber.stop()

    async def process(self, records: Sequence[Record]) -> None:
        """Apply one batch (the offsets are the caller's to commit afterwards)."""
        started = time.perf_counter()
        with tracing.consuming(self.name, len(records)) as self._spans:
            tenants = await self._tenants()
            accepted, rejected = self._partition(records, tenants)
            await _patiently(lambda: self._dead_letter(rejected))
            await _patiently(lambda: self._apply(accepted))
        metrics.BATCH_SECONDS.labels(*self._labels).observe(time.perf_counter() - started)

    async def _tenants(self) -> frozenset[str] | None:
        """The tenants whose events this batch reads (None: all), if the group says."""
        wanted = self.subscription.tenants
        if wanted is None:
            return None
        found: list[frozenset[str]] = []

        async def ask() -> None:
            async with self._db.engine.connect() as conn:
                found.append(frozenset(await wanted(conn)))

        await _patiently(ask)
        return found[0]

    def _partition(
        self, records: Sequence[Record], tenants: frozenset[str] | None = None
    ) -> tuple[list[Received[Payload]], list[Rejection]]:
        accepted: list[Received[Payload]] = []
        rejected: list[Rejection] = []
        seen: set[object] = set()
        ignored = 0
        for record in records:
            if self._skips_unread(record, tenants):
                ignored += 1
                continue
            try:
                event = decode(record.value)
                verdict = self.subscription.verdict(event.type)
                if verdict == "unsupported":
                    raise DecodeError(f"{self._service} does not support {event.type}")
                if tenants is not None and event.tenantid not in tenants:
                    verdict = "ignore"
                if verdict == "ignore" or event.id in seen:
                    ignored += 1
                    continue
                payload = event.payload()
                if self._spans is not None:  # the event's span; its context for what it causes
                    event = self._spans.received(event, record.topic, record.header("traceparent"))
                accepted.append(Received(event, payload, record))
                seen.add(event.id)
            except DecodeError as error:
                rejected.append(Rejection(record, str(error), "DecodeError"))
        if ignored:
            metrics.EVENTS_CONSUMED.labels(*self._labels, "ignored").inc(ignored)
        return accepted, rejected

    def _skips_unread(self, record: Record, tenants: frozenset[str] | None) -> bool:
        """A type this group skips, or (when it serves few tenants) another tenant's
        event, known from the header or the raw bytes: no parsing needed."""
        hint = record.header(TYPE_HEADER)
        if hint is not None and self.subscription.verdict(hint) == "ignore":
            return True
        if tenants is None or record.value is None:
            return False
        tenant = tenant_of_encoded(record.value)
        return tenant is not None and tenant not in tenants

    async def _apply(self, batch: list[Received[Payload]], *, whole: bool = True) -> None:
        """Apply ``batch``, or find the events that poison it and dead-letter them.

        Only the whole batch and single events are retried (and only for an error of
        unknown kind): the halves of a bisection are tried once each. A lone event that
        violates a constraint gets one second look, as the race it may have lost is over
        by then (in a larger batch, its isolation is that second look)."""
        if not batch:
            return
        error = await self._attempt(batch)
        if error is not None and classify(error) is Kind.UNKNOWN and (whole or len(batch) == 1):
            error = await self._retry(batch, error)
        elif error is not None and whole and len(batch) == 1 and is_conflict(error):
            error = await self._attempt(batch)
        if error is None:
            return
        if len(batch) == 1:
            await self._dead_letter_failed(batch[0], error)
            return
        log.warning(
            "batch failed; isolating the failing events", size=len(batch), error=describe(error)
        )
        middle = len(batch) // 2
        await self._apply(batch[:middle], whole=False)
        await self._apply(batch[middle:], whole=False)

    async def _attempt(self, batch: list[Received[Payload]]) -> BaseException | None:
        """Apply once; the error if it failed, unless the infrastructure is to blame."""
        try:
            await self._apply_once(batch)
        except Exception as error:
            if classify(error) is Kind.TRANSIENT:
                raise
            return error
        return None

    async def _retry(
        self, batch: list[Received[Payload]], error: BaseException
    ) -> BaseException | None:
        for attempt in range(2, self._max_attempts + 1):
            await asyncio.sleep(0.05 * (attempt - 1))
            metrics.CONSUMER_RETRIES.labels(*self._labels).inc()
            retried = await self._attempt(batch)
            if retried is None:
                return None
            error = retried
        return error

    async def _dead_letter_failed(self, received: Received[Payload], error: BaseException) -> None:
        poison = classify(error) is Kind.POISON
        reason = describe(error)
        log.warning(
            "event dead-lettered at once: the message causes it"
            if poison
            else "event dead-lettered after retries",
            event_id=str(received.event.id),
            type=received.event.type,
            error=reason,
            where=_where(error),
        )
        if self._spans is not None:
            self._spans.failed(received.event.id, reason)
        rejection = Rejection(received.record, f"handler failed: {reason}", cause_name(error))
        await self._dead_letter([rejection])

    async def _apply_once(self, batch: list[Received[Payload]]) -> None:
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
        self.applied += len(todo)
        metrics.EVENTS_CONSUMED.labels(*self._labels, "applied").inc(len(todo))
        metrics.EVENTS_CONSUMED.labels(*self._labels, "duplicate").inc(len(batch) - len(todo))

    async def _dead_letter(self, rejected: Sequence[Rejection]) -> None:
        if not rejected:
            return
        now = self._db.clock.now()
        await self._bus.publish([self._letter(r, now) for r in rejected])
        for r in rejected:
            log.warning(
                "dead-lettered", topic=r.record.topic, offset=r.record.offset, reason=r.reason
            )
            metrics.DEAD_LETTERS.labels(*self._labels, r.cause).inc()
        metrics.EVENTS_CONSUMED.labels(*self._labels, "dead_lettered").inc(len(rejected))

    def _letter(self, rejection: Rejection, now: datetime) -> Message:
        record = rejection.record
        position = (
            ("crm-consumer", self.subscription.group.encode()),
            ("crm-partition", str(record.partition).encode()),
            ("crm-offset", str(record.offset).encode()),
        )
        original = Message(record.topic, record.key, record.value or b"", record.headers)
        return dead_letter(
            original,
            reason=rejection.reason,
            service=self._service,
            origin="consumer",
            position=position,
            failed_at=now,
            limit=self._bus.max_message_bytes,
        )


def _where(error: BaseException) -> str:
    """The innermost frame of our own code that ``error`` went through: a place to look,
    with no data in it (libraries' and the standard library's frames are skipped)."""
    ours = ""
    frame = error.__traceback__
    while frame is not None:
        path = frame.tb_frame.f_code.co_filename
        if not path.startswith(_LIBRARIES):
            ours = f"{path}:{frame.tb_lineno} {frame.tb_frame.f_code.co_name}"
        frame = frame.tb_next
    return ours


_LIBRARIES = tuple(
    {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)


async def _patiently(step: Callable[[], Awaitable[None]]) -> None:
    """Run a step until it succeeds, waiting out infrastructure outages (the database or
    the bus away): the records stay in hand, and their offsets uncommitted."""
    delay = 0.5
    while True:
        try:
            await step()
            return
        except Exception as error:
            if classify(error) is not Kind.TRANSIENT:
                raise
            log.warning("consumer waiting for infrastructure", error=describe(error), delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)
