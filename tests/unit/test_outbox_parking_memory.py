"""The relay's parking in embedded mode (SQLite, in-memory bus): a row the bus will never
take goes to crm.deadletter and the rows behind it flow, in order per key; a bus that
is away keeps every row for the next try."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import topics
from shared.bus import MAX_MESSAGE_BYTES, Message, NotSent, Outcome, RecordRejected, message_size
from shared.bus.memory import MemoryBus
from shared.db import create_engine
from shared.letters import dead_letter
from shared.outbox import OutboxRelay
from shared.tables import kernel_tables

METADATA = MetaData()
OUTBOX, _ = kernel_tables(METADATA)
SERVICE = "relay-unit"
BIG = b'{"id":"x","padding":"' + b"x" * (2 * MAX_MESSAGE_BYTES) + b'"}'


@pytest.fixture
async def engine(tmp_path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/relay.db")
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


async def put(engine: AsyncEngine, *rows: tuple[str, bytes]) -> None:
    async with engine.begin() as conn:
        for key, value in rows:
            await conn.execute(
                insert(OUTBOX).values(event_id=uuid.uuid4(), topic=topics.ACTIVITY, key=key,
                                      value=value, created_at=datetime.now(UTC))
            )  # fmt: skip


async def left(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(OUTBOX)) or 0)


def parked() -> float:
    labels = {"service": SERVICE, "reason": "MessageSizeTooLarge"}
    return REGISTRY.get_sample_value("crm_outbox_parked_total", labels) or 0.0


def values(bus: MemoryBus, topic: str, key: str) -> list[bytes | None]:
    return [r.value for r in bus.logs[topic] if r.key == key.encode()]


async def test_an_oversized_row_is_parked_and_the_rows_behind_it_are_published_in_order(engine):
    bus = MemoryBus()
    before = parked()
    await put(engine, ("a", b"a1"), ("b", b"b1"), ("a", BIG), ("a", b"a2"), ("b", b"b2"))

    assert await OutboxRelay(engine, OUTBOX, bus, service=SERVICE).relay_once() == 5

    assert values(bus, topics.ACTIVITY, "a") == [b"a1", b"a2"]
    assert values(bus, topics.ACTIVITY, "b") == [b"b1", b"b2"]
    [letter] = bus.logs[topics.DEADLETTER]
    assert letter.key == b"a"
    assert letter.header("crm-origin") == "outbox"
    assert letter.header("crm-topic") == topics.ACTIVITY
    assert letter.header("crm-service") == SERVICE
    assert (letter.header("crm-error") or "").startswith("MessageSizeTooLarge")
    assert letter.header("crm-value-bytes") == str(len(BIG))
    assert letter.header("crm-value-sha256") == hashlib.sha256(BIG).hexdigest()
    assert letter.value is not None and BIG.startswith(letter.value)
    assert await left(engine) == 0
    assert parked() == before + 1


async def test_the_running_relay_carries_on_past_a_parked_row(engine):
    bus = MemoryBus()
    relay = OutboxRelay(engine, OUTBOX, bus, service=SERVICE, poll_seconds=0.01)
    task = asyncio.create_task(relay.run())
    try:
        await put(engine, ("a", BIG))
        await put(engine, ("a", b"a1"), ("c", b"c1"))
        for _ in range(500):  # 5 s at most
            if not await left(engine):
                break
            await asyncio.sleep(0.01)
    finally:
        relay.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await left(engine) == 0
    assert values(bus, topics.ACTIVITY, "a") == [b"a1"]
    assert len(bus.logs[topics.DEADLETTER]) == 1


class _AwayBus(MemoryBus):
    """The bus away: nothing is acknowledged, nothing is refused."""

    async def publish_each(self, messages: Sequence[Message]) -> list[Outcome]:
        return [ConnectionError("bus away") for _ in messages]


async def test_a_bus_that_is_away_keeps_every_row_and_parks_none(engine):
    bus = _AwayBus()
    await put(engine, ("a", b"a1"), ("a", BIG))

    with pytest.raises(ConnectionError):
        await OutboxRelay(engine, OUTBOX, bus, service=SERVICE).relay_once()

    assert await left(engine) == 2
    assert bus.logs[topics.DEADLETTER] == []


async def test_the_memory_bus_refuses_what_kafka_would_and_sends_nothing_after_it():
    bus = MemoryBus()
    outcomes = await bus.publish_each(
        [Message("t", b"k", b"1"), Message("t", b"k", BIG), Message("t", b"k", b"2")]
    )

    assert outcomes[0] is None
    assert isinstance(outcomes[1], RecordRejected)
    assert isinstance(outcomes[2], NotSent)
    assert [r.value for r in bus.logs["t"]] == [b"1"]
    with pytest.raises(RecordRejected):
        await bus.publish([Message("t", b"k", BIG)])


def test_a_dead_letter_that_fits_keeps_the_whole_value_and_one_that_does_not_is_cut():
    small = Message(topics.ACTIVITY, b"k", b"v" * 1000, (("content-type", b"x"),))
    whole, cut = _letter(small), _letter(Message(topics.ACTIVITY, b"k", BIG))

    assert whole.value == small.value and whole.topic == topics.DEADLETTER
    assert dict(whole.headers)["content-type"] == b"x"
    assert "crm-value-truncated" not in dict(whole.headers)
    assert message_size(cut) <= MAX_MESSAGE_BYTES
    assert dict(cut.headers)["crm-value-truncated"] == str(len(cut.value)).encode()


def _letter(message: Message) -> Message:
    return dead_letter(
        message,
        reason="r",
        service="s",
        origin="outbox",
        position=(),
        failed_at=datetime.now(UTC),
        limit=MAX_MESSAGE_BYTES,
    )
