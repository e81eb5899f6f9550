"""Kernel integration fixtures: a throwaway PostgreSQL database and prefixed Kafka
topics on the real local infrastructure (``make infra``), never the services' own.

The session creates database ``crm_it_<random>`` with the kernel's tables and a
``counter`` table, and every topic of ``shared.topics`` under ``it<random>.``;
both are dropped at the end. Each test takes fresh customers, tenants and
consumer groups, so tests share the topics without seeing each other's effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import topics
from shared.bus import Message, Record
from shared.bus.kafka import KafkaBus
from shared.clock import SystemClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.events import CloudEvent, encode
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.topics import PARTITIONS
from shared.uow import Database
from tests.integration.harness import COUNTER, INBOX, METADATA, OUTBOX, SERVICE
from tests.integration.services import Infra

ROOT = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Waits are bounded one by one; should one be missed, a test running over a minute
    ends the run with every thread's traceback rather than hanging it."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def settings() -> ServiceSettings:
    return ServiceSettings()


@pytest.fixture(scope="session")
def servers(settings: ServiceSettings) -> str:
    return settings.kafka_servers


@pytest.fixture(scope="session")
async def database_url(settings: ServiceSettings) -> AsyncIterator[str]:
    """A database of our own, created for the session and dropped after it."""
    name = f"crm_it_{RUN}"
    server = {"host": settings.pg_host, "port": settings.pg_port, "user": settings.pg_user}
    password = settings.pg_password.get_secret_value() or None
    admin = await asyncpg.connect(**server, password=password, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        auth = settings.pg_user + (f":{password}" if password else "")
        yield f"postgresql+asyncpg://{auth}@{settings.pg_host}:{settings.pg_port}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def prefix(servers: str) -> AsyncIterator[str]:
    """Every platform topic under a prefix of our own, created by the project's script."""
    prefix = f"it{RUN}."
    script = await asyncio.create_subprocess_exec(
        sys.executable,
        "deploy/local/topics.py",
        "--prefix",
        prefix,
        "--timeout",
        "30",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(90):
        output, _ = await script.communicate()
    assert script.returncode == 0, output.decode()
    yield prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.delete_topics([prefix + name for name in PARTITIONS])
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def infra(settings: ServiceSettings, prefix: str) -> Infra:
    """For service-level tests: see ``tests.integration.services.run_service``."""
    return Infra(settings, prefix, RUN)


@pytest.fixture(scope="session")
async def bus(servers: str, prefix: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(servers, f"crm-it-{RUN}", topic_prefix=prefix)
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture
def db(engine: AsyncEngine) -> Database:
    return Database(engine, OUTBOX, SystemClock())


@pytest.fixture
async def empty_outbox(engine: AsyncEngine) -> None:
    """The test starts with an empty outbox (a failed test may have left rows)."""
    async with engine.begin() as conn:
        await conn.execute(delete(OUTBOX))


@pytest.fixture
def relay(empty_outbox: None, engine: AsyncEngine, bus: KafkaBus) -> OutboxRelay:
    return OutboxRelay(engine, OUTBOX, bus, service=SERVICE)


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def customer() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def group() -> str:
    return f"it-{RUN}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def consumers(bus: KafkaBus, db: Database) -> Callable[..., Consumer]:
    """Build kernel consumers on our bus and database (each run() owns its Kafka client)."""

    def make(subscription: Subscription, **options: Any) -> Consumer:
        return Consumer(subscription, service=SERVICE, bus=bus, db=db, inbox=INBOX, **options)

    return make


# --- reading the database -------------------------------------------------------------


async def counter_value(engine: AsyncEngine, key: str) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(select(COUNTER.c.value).where(COUNTER.c.key == key))
    return int(value or 0)


async def inbox_rows(engine: AsyncEngine, group: str, events: Iterable[CloudEvent]) -> int:
    """How many of ``events`` the inbox of ``group`` holds."""
    query = select(func.count()).where(
        INBOX.c.consumer == group, INBOX.c.event_id.in_([e.id for e in events])
    )
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(OUTBOX)) or 0)


# --- Kafka ------------------------------------------------------------------------------


async def publish(bus: KafkaBus, topic: str, key: str, values: Iterable[bytes]) -> None:
    """Put raw values on ``topic`` under one key (one partition, in this order)."""
    await bus.publish([Message(topic, key.encode(), value) for value in values])


async def publish_events(bus: KafkaBus, *events: CloudEvent) -> None:
    await bus.publish([Message(e.topic, e.partitionkey.encode(), encode(e)) for e in events])


async def receive(
    bus: KafkaBus, topic: str, key: str, *, count: int, within: float = 10.0
) -> list[Record]:
    """Read ``topic`` from the start in a fresh group of the bus; return the records under
    ``key`` once there are ``count`` of them, or what was there after ``within`` seconds."""
    subscriber = bus.subscriber(f"it-{RUN}-reader-{uuid.uuid4().hex[:8]}", [topic])
    await subscriber.start()
    found: list[Record] = []
    deadline = time.monotonic() + within
    try:
        while len(found) < count and time.monotonic() < deadline:
            batch = await subscriber.fetch(500, min(0.5, deadline - time.monotonic()))
            found.extend(r for r in batch if r.key == key.encode())
    finally:
        await subscriber.stop()
    return found


async def read_topic(servers: str, prefix: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything on ``prefix + topic`` at this moment, by partition and offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(prefix + topic, p) for p in range(PARTITIONS[topic])]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(15):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def about(
    servers: str, prefix: str, topic: str, key: str
) -> list[ConsumerRecord[bytes, bytes]]:
    """What is on ``prefix + topic`` under ``key`` (one partition, in offset order)."""
    return [r for r in await read_topic(servers, prefix, topic) if r.key == key.encode()]


async def dead_letters(
    servers: str, prefix: str, group: str, key: str
) -> list[ConsumerRecord[bytes, bytes]]:
    """What consumer ``group`` dead-lettered about ``key``."""
    dead = await about(servers, prefix, topics.DEADLETTER, key)
    return [r for r in dead if header(r, "crm-consumer") == group]


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    return next((v.decode() for k, v in record.headers if k == name), None)


async def committed(servers: str, group: str) -> dict[tuple[str, int], int]:
    """The offsets ``group`` has committed, by (topic, partition)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


async def committed_past(
    servers: str, group: str, records: Iterable[ConsumerRecord[bytes, bytes]]
) -> bool:
    """Whether ``group`` committed an offset beyond every one of ``records``."""
    offsets = await committed(servers, group)
    return all(offsets.get((r.topic, r.partition), -1) > r.offset for r in records)


# --- running a consumer ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[asyncio.Task[None]]:
    """``consumer.run()`` in the background for the block, stopped afterwards."""
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    *,
    within: float = 15.0,
    watching: asyncio.Task[Any] | None = None,
) -> None:
    """Poll ``condition`` until it holds; a crash of the ``watching`` task is raised at once."""
    try:
        async with asyncio.timeout(within):
            while not await condition():
                if watching is not None and watching.done():
                    watching.result()
                    raise AssertionError("the consumer stopped")
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {within} s") from None
