"""The fast tier's bench: one service's real consumers on SQLite and the in-memory bus.

A bench is a service as its consumers see it: its database (migrated by its own
Alembic revisions), a frozen clock, and the subscriptions its ``app.py`` wires,
each run by the kernel's ``Consumer``. ``consume`` hands events to one consumer
group as a Kafka fetch would (encoded ``Record``s) and returns once
``Consumer.process`` has applied them: decoding, dead letters, the inbox, the
handler and the outbox are the production path, with no broker, no server, no
sleeping and no polling. What the handler published is read back from the
outbox, as the relay would send it.

As cosmicpython tests its handlers with a fake unit of work, this tier tests ours
with the real one on a database that costs a file copy: each service is migrated
once per session into a template, and every bench starts from a copy of it.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services import definition
from shared import topics
from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.clock import FrozenClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.events import CloudEvent, decode, encode, new_event
from shared.events.activity import CustomerRef, Inbound, PurchaseCompleted
from shared.events.payload import Payload
from shared.keyring import KeysUnavailable
from shared.migrations import migrate
from shared.runtime import Runtime, ServiceDefinition
from shared.sealing import SubjectKey, new_secret
from shared.uow import Database

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
P = TypeVar("P", bound=Payload)
TENANT = "default"
LI = "li.wei@example.com"


async def migrated_template(service: str, folder: Path) -> Path:
    """A database file holding ``service``'s schema at its newest revision."""
    path = folder / f"{service}.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine, service)
    finally:
        await engine.dispose()  # the last connection closed: the WAL is folded into the file
    return path


@dataclass
class Bench:
    """One service's consumers, database, clock and bus; see the module's docstring."""

    service: ServiceDefinition
    runtime: Runtime
    bus: MemoryBus
    consumers: dict[str, Consumer]
    _offsets: dict[str, itertools.count[int]] = field(default_factory=dict)

    @property
    def engine(self) -> AsyncEngine:
        return self.runtime.db.engine

    @property
    def clock(self) -> FrozenClock:
        clock = self.runtime.clock
        assert isinstance(clock, FrozenClock)
        return clock

    async def consume(self, group: str, *events: CloudEvent | bytes) -> None:
        """Deliver ``events`` to consumer ``group`` as one fetched batch, and apply it.
        Raw bytes are delivered as they are, on the group's first topic."""
        consumer = self.consumers[group]
        await consumer.process([self._record(consumer, e) for e in events])

    def _record(self, consumer: Consumer, event: CloudEvent | bytes) -> Record:
        if isinstance(event, CloudEvent):
            topic, key, value = event.topic, event.partitionkey, encode(event)
        else:
            topic, key, value = consumer.subscription.topics[0], "raw", event
        offset = next(self._offsets.setdefault(topic, itertools.count()))
        return Record(topic, 0, offset, key.encode(), value)

    async def published(self, *kinds: type[Payload]) -> list[CloudEvent]:
        """The events in the service's outbox, oldest first (of these payload classes,
        when named), decoded as a consumer downstream would decode them."""
        outbox = self.service.outbox
        async with self.engine.connect() as conn:
            values = (await conn.execute(select(outbox.c.value).order_by(outbox.c.id))).scalars()
            events = [decode(v) for v in values]
        return [e for e in events if not kinds or isinstance(e.payload(), kinds)]

    async def payloads(self, kind: type[P]) -> list[P]:
        """The typed payloads of the published events of one class, oldest first."""
        return [cast(P, e.payload()) for e in await self.published(kind)]

    def dead_letters(self) -> list[Record]:
        """What the consumers put on ``crm.deadletter``."""
        return list(self.bus.logs[topics.DEADLETTER])

    async def rows(self, table: Table, **where: object) -> list[dict[str, Any]]:
        """The rows of one of the service's tables whose columns equal ``where``."""
        query = select(table).where(*(table.c[name] == value for name, value in where.items()))
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]


class MemoryKeys:
    """Profile's subject keys as the fast tier keeps them (``shared.keyring.Keys``; no
    profile runs here): a customer's made on first use, gone once ``erase``d; ``away``
    answers as an unreachable profile does."""

    def __init__(self) -> None:
        self._of: dict[tuple[str, uuid.UUID], SubjectKey] = {}
        self.erased: set[tuple[str, uuid.UUID]] = set()
        self.away = False

    async def keys(self, tenant_id: str, kids: Iterable[str]) -> dict[str, SubjectKey]:
        self._reachable()
        held = {k.kid: k for (t, _), k in self._of.items() if t == tenant_id}
        return {kid: held[kid] for kid in kids if kid in held}

    async def customer_keys(
        self, tenant_id: str, customer_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, SubjectKey]:
        self._reachable()
        wanted = [(tenant_id, c) for c in customer_ids if (tenant_id, c) not in self.erased]
        for name in wanted:
            self._of.setdefault(name, SubjectKey(str(uuid.uuid4()), new_secret()))
        return {c: self._of[(t, c)] for t, c in wanted}

    def erase(self, tenant_id: str, customer_id: uuid.UUID) -> None:
        self._of.pop((tenant_id, customer_id), None)
        self.erased.add((tenant_id, customer_id))

    def _reachable(self) -> None:
        if self.away:
            raise KeysUnavailable("profile does not answer for subject keys")


@contextlib.asynccontextmanager
async def running_bench(
    name: str, template: Path, folder: Path, *, now: datetime = NOW, **settings: Any
) -> AsyncIterator[Bench]:
    """A bench of service ``name`` on a copy of ``template``; ``settings`` override
    fields of the service's settings class (a rule file, say)."""
    path = folder / f"{name}-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)
    service = definition(name)
    config = service.settings(service=name, database_url=f"sqlite+aiosqlite:///{path}", **settings)
    clock = FrozenClock(now)
    engine = create_engine(config.db_url)
    bus = MemoryBus()
    runtime = Runtime(config, clock, Database(engine, service.outbox, clock), bus, resources=None)
    stack = contextlib.AsyncExitStack()
    if name != "gateway" and service.resources is not None:  # the tenants' rules
        runtime.resources = await stack.enter_async_context(service.resources(runtime))
        if hasattr(runtime.resources, "keys"):  # no profile runs here: keep its keys
            runtime.resources = replace(runtime.resources, keys=MemoryKeys())
    consumers = {
        s.group: Consumer(
            s,
            service=name,
            bus=bus,
            db=runtime.db,
            inbox=service.inbox,
            max_attempts=config.consumer_max_attempts,
            batch_size=config.consumer_batch_size,
        )
        for s in service.subscriptions(runtime)
    }
    try:
        yield Bench(service, runtime, bus, consumers)
    finally:
        await stack.aclose()
        await engine.dispose()


def event(
    payload: Payload,
    customer: uuid.UUID | str,
    at: datetime = NOW,
    *,
    tenant: str = TENANT,
    partner: str | None = None,
    source: str = "/crm/test",
) -> CloudEvent:
    """An event about a resolved customer, as a service publishes it (subject and key
    are the canonical id)."""
    subject = str(customer)
    return new_event(
        payload,
        source=source,
        tenant_id=tenant,
        key=subject,
        subject=subject,
        time=at,
        partner=partner,
    )


def inbound(partner: str, order: str, at: datetime = NOW, **reference: str) -> CloudEvent:
    """A purchase as the gateway puts it on crm.inbound for ``partner``."""
    ref = CustomerRef.model_validate(reference)
    activity = PurchaseCompleted(order_id=order, amount_minor=1000, currency="EUR", channel="web")
    payload = Inbound[PurchaseCompleted](
        partner=partner, partner_event_id=order, customer=ref, activity=activity
    )
    return new_event(
        payload,
        source=f"/partners/{partner}",
        tenant_id=TENANT,
        key=f"{ref.source}:{ref.external_id}",
        time=at,
        partner=partner,
    )


def stages_of(events: Iterable[CloudEvent]) -> list[tuple[str | None, str]]:
    """The (from, to) of the stage changes among ``events``."""
    return [(e.data.get("from"), e.data["to"]) for e in events if "to" in e.data]
