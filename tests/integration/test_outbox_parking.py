"""The outbox relay on real PostgreSQL and Kafka never blocks on a record Kafka will not
take: it parks it on crm.deadletter and carries on, in order, and it recovers by itself
from a producer that a refused send has left broken."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import deadletter, topics
from shared.bus import MAX_MESSAGE_BYTES, Message, RecordRejected
from shared.bus.kafka import KafkaBus
from shared.events import encode
from shared.outbox import OutboxRelay
from tests.integration.conftest import RUN, about, header, outbox_rows
from tests.integration.harness import OUTBOX, SERVICE, purchase

TWO_MIB = 2 * 1024 * 1024


async def put_rows(engine: AsyncEngine, rows: list[tuple[str, bytes]]) -> list[uuid.UUID]:
    """Outbox rows in this order (as units of work would have written them)."""
    ids = [uuid.uuid4() for _ in rows]
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for event_id, (key, value) in zip(ids, rows, strict=True):
            await conn.execute(
                insert(OUTBOX).values(
                    event_id=event_id, topic=topics.ACTIVITY, key=key, value=value, created_at=now
                )
            )
    return ids


def oversized(customer: str, tenant: str) -> bytes:
    """A real envelope whose value is 2 MiB (an unbounded attribute, say)."""
    raw = encode(purchase(customer, tenant))
    return raw[:-1] + b',"padding":"' + b"x" * (TWO_MIB - len(raw)) + b'"}'


def parked(reason: str) -> float:
    labels = {"service": SERVICE, "reason": reason}
    return REGISTRY.get_sample_value("crm_outbox_parked_total", labels) or 0.0


async def relay_until_empty(relay: OutboxRelay, engine: AsyncEngine) -> int:
    handled = 0
    for _ in range(20):
        handled += await relay.relay_once()
        if not await outbox_rows(engine):
            return handled
    raise AssertionError("the outbox did not drain")


@pytest.fixture
async def lenient_bus(servers: str, prefix: str) -> AsyncIterator[KafkaBus]:
    """A producer that lets a 2 MiB record through to the broker, whose topics refuse
    it: the failed send breaks an idempotent producer's sequence."""
    bus = KafkaBus(
        servers, f"crm-it-{RUN}-lenient", topic_prefix=prefix, max_message_bytes=4 * 1024 * 1024
    )
    await bus.start()
    yield bus
    await bus.stop()


async def test_an_oversized_row_is_parked_and_the_rows_around_it_are_published_in_order(
    relay: OutboxRelay,
    engine: AsyncEngine,
    servers: str,
    prefix: str,
    tenant: str,
    customer: str,
) -> None:
    other = str(uuid.uuid4())
    big = oversized(customer, tenant)
    good = {name: encode(purchase(key, tenant)) for name, key in
            [("c1", customer), ("o1", other), ("c2", customer), ("o2", other)]}  # fmt: skip
    before = parked("MessageSizeTooLargeError")
    await put_rows(engine, [(customer, good["c1"]), (other, good["o1"]), (customer, big),
                            (customer, good["c2"]), (other, good["o2"])])  # fmt: skip

    assert await relay_until_empty(relay, engine) == 5

    assert [r.value for r in await about(servers, prefix, topics.ACTIVITY, customer)] == [
        good["c1"],
        good["c2"],
    ]
    assert [r.value for r in await about(servers, prefix, topics.ACTIVITY, other)] == [
        good["o1"],
        good["o2"],
    ]
    [letter] = await about(servers, prefix, topics.DEADLETTER, customer)
    assert header(letter, "crm-origin") == "outbox"
    assert header(letter, "crm-service") == SERVICE
    assert header(letter, "crm-topic") == topics.ACTIVITY
    assert (header(letter, "crm-error") or "").startswith(
        "MessageSizeTooLargeError (Kafka error 10)"
    )
    assert datetime.fromisoformat(header(letter, "crm-failed-at") or "")
    assert header(letter, "crm-value-bytes") == str(len(big))
    assert header(letter, "crm-value-sha256") == hashlib.sha256(big).hexdigest()
    assert letter.value is not None and big.startswith(letter.value)
    assert len(letter.value) < MAX_MESSAGE_BYTES
    assert parked("MessageSizeTooLargeError") == before + 1
    [listed] = [d for d in await deadletter.read(servers, prefix) if d.record.key == letter.key]
    assert listed.origin == topics.ACTIVITY and not listed.replayable
    assert "outbox#" in listed.describe() and "not replayable" in listed.describe()


async def test_rows_written_after_a_parked_row_keep_flowing(
    relay: OutboxRelay,
    engine: AsyncEngine,
    servers: str,
    prefix: str,
    tenant: str,
    customer: str,
) -> None:
    await put_rows(engine, [(customer, oversized(customer, tenant))])
    assert await relay.relay_once() == 1
    later = [encode(purchase(customer, tenant)) for _ in range(3)]
    await put_rows(engine, [(customer, value) for value in later])

    assert await relay.relay_once() == 3

    assert [r.value for r in await about(servers, prefix, topics.ACTIVITY, customer)] == later


async def test_the_bus_recovers_by_itself_after_the_broker_refused_a_record(
    lenient_bus: KafkaBus, servers: str, prefix: str, customer: str
) -> None:
    key = customer.encode()
    first, second, third = b'{"n":1}', b'{"n":2}', b'{"n":3}'
    refused = Message(topics.ACTIVITY, key, b"x" * TWO_MIB)

    with pytest.raises(Exception, match="MessageSizeTooLarge"):
        await lenient_bus.publish([Message(topics.ACTIVITY, key, first), refused])
    await lenient_bus.publish([Message(topics.ACTIVITY, key, second)])  # no restart
    await lenient_bus.publish([Message(topics.ACTIVITY, key, third)])

    on_topic = [r.value for r in await about(servers, prefix, topics.ACTIVITY, customer)]
    assert on_topic == [first, second, third]


async def test_the_broker_refusing_a_record_in_a_batch_is_found_and_parked_alone(
    lenient_bus: KafkaBus,
    empty_outbox: None,
    engine: AsyncEngine,
    servers: str,
    prefix: str,
    tenant: str,
    customer: str,
) -> None:
    """The broker refuses the whole record batch, and the producer's later sends fail too:
    the relay finds the culprit by sending the failed rows one at a time."""
    relay = OutboxRelay(engine, OUTBOX, lenient_bus, service=SERVICE)
    others = [str(uuid.uuid4()) for _ in range(4)]
    before = [(k, encode(purchase(k, tenant))) for k in [customer, *others]]
    after = [(k, encode(purchase(k, tenant))) for k in [customer, *others]]
    await put_rows(engine, [*before, (customer, oversized(customer, tenant)), *after])

    assert await relay_until_empty(relay, engine) == 11

    for key in [customer, *others]:
        published = [r.value for r in await about(servers, prefix, topics.ACTIVITY, key)]
        expected = [v for k, v in [*before, *after] if k == key]
        assert _first_copies(published) == expected  # copies are allowed, order is not
    [letter] = await about(servers, prefix, topics.DEADLETTER, customer)
    assert (header(letter, "crm-error") or "").startswith("MessageSizeTooLargeError")
    assert header(letter, "crm-value-bytes") is not None


async def test_a_topic_that_does_not_exist_is_a_refusal_said_at_once(
    bus: KafkaBus, customer: str
) -> None:
    started = time.monotonic()
    [outcome] = await bus.publish_each([Message("crm.nowhere", customer.encode(), b"{}")])
    assert time.monotonic() - started < 5  # aiokafka alone would wait 40 s, on every row
    assert isinstance(outcome, RecordRejected)
    assert outcome.kind == "UnknownTopicOrPartitionError"


def _first_copies(values: list[bytes | None]) -> list[bytes | None]:
    seen: list[bytes | None] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
