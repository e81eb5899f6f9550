"""Embedded mode (SQLite, in-memory bus) treats a sum past BIGINT as PostgreSQL mode does:
the event is dead-lettered at once and the rest of the batch applies."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import consumer as consumer_module
from shared import topics
from shared.bus import Message
from shared.bus.memory import MemoryBus
from shared.clock import SystemClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.events import CloudEvent, encode, new_event
from shared.events.activity import PurchaseCompleted
from shared.subscription import Received, Subscription
from shared.tables import kernel_tables
from shared.uow import Database, UnitOfWork

METADATA = MetaData()
OUTBOX, INBOX = kernel_tables(METADATA)
REVENUE = Table(
    "revenue",
    METADATA,
    Column("customer", String(40), primary_key=True),
    Column("total_minor", BigInteger, nullable=False),
)
PURCHASE = "crm.activity.purchase_completed.v1"


@pytest.fixture
async def engine(tmp_path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/consumer.db")
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
        await conn.execute(REVENUE.insert().values(customer="whale", total_minor=2**63 - 10))
    yield engine
    await engine.dispose()


async def add_revenue(uow: UnitOfWork, batch: Sequence[Received]) -> None:
    """A running sum kept in Python and written back, as the services keep theirs."""
    for received in batch:
        customer = received.event.subject or ""
        total = await uow.conn.scalar(
            select(REVENUE.c.total_minor).where(REVENUE.c.customer == customer)
        )
        amount = received.payload.amount_minor  # type: ignore[attr-defined]
        statement = insert(REVENUE).values(customer=customer, total_minor=(total or 0) + amount)
        replace = {"total_minor": statement.excluded.total_minor}
        await uow.conn.execute(
            statement.on_conflict_do_update(index_elements=[REVENUE.c.customer], set_=replace)
        )


def bought(customer: str, tenant: str = "t") -> CloudEvent:
    payload = PurchaseCompleted(order_id="O-1", amount_minor=1000, currency="EUR", channel="web")
    return new_event(payload, source="/test", tenant_id=tenant, key=customer, subject=customer,
                     time=datetime.now(UTC))  # fmt: skip


async def test_an_overflowing_sum_on_sqlite_is_dead_lettered_at_once(engine):
    bus = MemoryBus()
    events = [bought(c) for c in ["a", "b", "whale", "c", "d"]]
    await bus.publish(
        [Message(topics.ACTIVITY, e.partitionkey.encode(), encode(e)) for e in events]
    )
    subscriber = bus.subscriber("reader", [topics.ACTIVITY])
    await subscriber.start()
    records = await subscriber.fetch(10, 0.1)
    calls: list[int] = []

    async def handler(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        calls.append(len(batch))
        await add_revenue(uow, batch)

    subscription = Subscription("revenue", (topics.ACTIVITY,), (PurchaseCompleted,), handler)
    db = Database(engine, OUTBOX, SystemClock())
    consumer = Consumer(subscription, service="unit", bus=bus, db=db, inbox=INBOX, max_attempts=3)

    await consumer.process(records)

    async with engine.connect() as conn:
        applied = await conn.scalar(select(func.count()).where(REVENUE.c.total_minor == 1000))
    assert applied == 4
    [dead] = bus.logs[topics.DEADLETTER]
    assert dead.key == b"whale"
    assert dead.header("crm-error") == (
        "handler failed: OverflowError: Python int too large to convert to SQLite INTEGER"
    )
    assert calls.count(1) == 1  # the whale alone, once: no retries


async def test_a_lone_event_that_lost_a_race_gets_a_second_look(engine):
    bus = MemoryBus()
    event = bought("a")
    await bus.publish([Message(topics.ACTIVITY, b"a", encode(event))])
    subscriber = bus.subscriber("reader", [topics.ACTIVITY])
    await subscriber.start()
    races = [IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))]

    async def handler(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        if races:
            raise races.pop()  # another replica inserted the same row a moment earlier
        await add_revenue(uow, batch)

    subscription = Subscription("revenue", (topics.ACTIVITY,), (PurchaseCompleted,), handler)
    db = Database(engine, OUTBOX, SystemClock())
    consumer = Consumer(subscription, service="unit", bus=bus, db=db, inbox=INBOX)

    await consumer.process(await subscriber.fetch(10, 0.1))

    assert bus.logs[topics.DEADLETTER] == []
    async with engine.connect() as conn:
        assert await conn.scalar(select(REVENUE.c.total_minor).where(REVENUE.c.customer == "a"))


async def test_a_consumer_applies_at_most_its_batch_size_at_once(engine):
    """``CRM_CONSUMER_BATCH_SIZE`` bounds each transaction (unless a subscription sets
    its own): the setting reaches the consumer."""
    bus = MemoryBus()
    events = [bought(f"c{n}") for n in range(7)]
    await bus.publish(
        [Message(topics.ACTIVITY, e.partitionkey.encode(), encode(e)) for e in events]
    )
    sizes: list[int] = []
    all_applied = asyncio.Event()

    async def handler(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        sizes.append(len(batch))
        if sum(sizes) == 7:
            all_applied.set()

    subscription = Subscription("sizes", (topics.ACTIVITY,), (PurchaseCompleted,), handler)
    db = Database(engine, OUTBOX, SystemClock())
    consumer = Consumer(subscription, service="unit", bus=bus, db=db, inbox=INBOX, batch_size=3)
    running = asyncio.create_task(consumer.run())
    async with asyncio.timeout(5):
        await all_applied.wait()
    consumer.stop()
    await running

    assert sum(sizes) == 7 and max(sizes) <= 3


async def test_a_type_the_group_skips_is_skipped_by_its_header_without_parsing(engine):
    """The relay names each event's type in a header: a consumer skips the types it does
    not apply without parsing them (here a value that is not even JSON), and counts them."""
    bus = MemoryBus()
    header = (("crm-type", b"crm.activity.engagement_recorded.v1"),)
    await bus.publish([Message(topics.ACTIVITY, b"k", b"\x00 not json", header)])
    subscriber = bus.subscriber("reader", [topics.ACTIVITY])
    await subscriber.start()
    records = await subscriber.fetch(10, 0.1)

    async def handler(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        raise AssertionError("nothing to apply")

    subscription = Subscription("skips", (topics.ACTIVITY,), (PurchaseCompleted,), handler)
    db = Database(engine, OUTBOX, SystemClock())
    consumer = Consumer(subscription, service="unit", bus=bus, db=db, inbox=INBOX)
    dead = bus.subscriber("dead", [topics.DEADLETTER])
    await dead.start()

    await consumer.process(records)

    assert await dead.fetch(10, 0.1) == []


async def test_a_group_serving_some_tenants_leaves_the_others_events_unread(engine, monkeypatch):
    """The webhooks' fan-out serves the tenants with a subscription: another tenant's
    event is skipped from its raw bytes (never parsed, no inbox row), asked once a batch."""
    bus = MemoryBus()
    events = [bought("a", "served"), bought("b", "other"), bought("c", "served")]
    await bus.publish([Message(topics.ACTIVITY, b"k", encode(e)) for e in events])
    subscriber = bus.subscriber("reader", [topics.ACTIVITY])
    await subscriber.start()
    applied: list[str] = []
    asked: list[int] = []

    async def handler(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        applied.extend(r.event.tenantid for r in batch)

    async def served(conn: object) -> list[str]:
        asked.append(1)
        return ["served"]

    parsed: list[bytes] = []
    real_decode = consumer_module.decode
    monkeypatch.setattr(
        consumer_module, "decode", lambda raw: parsed.append(raw) or real_decode(raw)
    )
    subscription = Subscription(
        "fanout", (topics.ACTIVITY,), (PurchaseCompleted,), handler, tenants=served
    )
    db = Database(engine, OUTBOX, SystemClock())
    consumer = Consumer(subscription, service="unit", bus=bus, db=db, inbox=INBOX)

    await consumer.process(await subscriber.fetch(10, 0.1))

    assert applied == ["served", "served"] and len(asked) == 1
    assert len(parsed) == 2
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(INBOX)) == 2
