"""The in-memory bus of embedded mode keeps the Kafka semantics handlers rely on."""

from __future__ import annotations

import asyncio
import time

from shared.bus import Message, Record, next_offsets
from shared.bus.memory import MemoryBus, MemorySubscriber

TOPIC = "crm.activity"


def _messages(count: int, topic: str = TOPIC) -> list[Message]:
    return [Message(topic, f"k{i}".encode(), f"v{i}".encode()) for i in range(count)]


def _values(records: list[Record]) -> list[bytes | None]:
    return [r.value for r in records]


async def _member(
    bus: MemoryBus, group: str, topics: tuple[str, ...] = (TOPIC,)
) -> MemorySubscriber:
    subscriber = bus.subscriber(group, topics)
    await subscriber.start()
    return subscriber


async def test_published_messages_are_fetched_in_order_with_their_offsets():
    bus = MemoryBus()
    await bus.publish(_messages(3))
    member = await _member(bus, "profile")

    records = await member.fetch(10, 0.1)

    assert _values(records) == [b"v0", b"v1", b"v2"]
    assert [r.offset for r in records] == [0, 1, 2]
    assert {(r.topic, r.partition) for r in records} == {(TOPIC, 0)}


async def test_fetch_returns_at_most_max_records_and_continues_where_it_stopped():
    bus = MemoryBus()
    await bus.publish(_messages(5))
    member = await _member(bus, "profile")

    first = await member.fetch(2, 0.1)
    rest = await member.fetch(10, 0.1)

    assert _values(first) == [b"v0", b"v1"]
    assert _values(rest) == [b"v2", b"v3", b"v4"]


async def test_key_and_headers_travel_with_the_message():
    bus = MemoryBus()
    await bus.publish([Message(TOPIC, b"customer-1", b"{}", headers=(("crm-error", b"bad"),))])
    member = await _member(bus, "deadletter-reader")

    (record,) = await member.fetch(1, 0.1)

    assert record.key == b"customer-1"
    assert record.header("crm-error") == "bad"
    assert record.header("missing") is None


async def test_a_group_that_committed_resumes_after_the_commit():
    bus = MemoryBus()
    await bus.publish(_messages(4))
    first = await _member(bus, "lifecycle")
    await first.commit(await first.fetch(2, 0.1))
    await first.stop()

    replacement = await _member(bus, "lifecycle")

    assert _values(await replacement.fetch(10, 0.1)) == [b"v2", b"v3"]


async def test_uncommitted_records_are_delivered_again_to_the_next_member():
    bus = MemoryBus()
    await bus.publish(_messages(2))
    crashed = await _member(bus, "lifecycle")
    await crashed.fetch(10, 0.1)

    replacement = await _member(bus, "lifecycle")

    assert _values(await replacement.fetch(10, 0.1)) == [b"v0", b"v1"]


async def test_two_groups_each_see_every_message():
    bus = MemoryBus()
    profile, loyalty = await _member(bus, "profile"), await _member(bus, "loyalty")
    await bus.publish(_messages(3))

    await profile.commit(await profile.fetch(10, 0.1))

    assert _values(await loyalty.fetch(10, 0.1)) == [b"v0", b"v1", b"v2"]


async def test_a_member_reads_only_its_topics():
    bus = MemoryBus()
    await bus.publish(_messages(1, "crm.loyalty") + _messages(1, TOPIC))
    member = await _member(bus, "profile", ("crm.loyalty",))

    records = await member.fetch(10, 0.1)

    assert [r.topic for r in records] == ["crm.loyalty"]


async def test_fetch_with_nothing_to_read_times_out_with_an_empty_list():
    member = await _member(MemoryBus(), "profile")
    started = time.perf_counter()

    assert await member.fetch(10, 0.05) == []
    assert time.perf_counter() - started >= 0.04


async def test_a_waiting_fetch_wakes_up_when_a_message_is_published():
    bus = MemoryBus()
    member = await _member(bus, "profile")
    started = time.perf_counter()

    waiting = asyncio.create_task(member.fetch(10, 5))
    await asyncio.sleep(0)
    await bus.publish(_messages(1))

    assert _values(await waiting) == [b"v0"]
    assert time.perf_counter() - started < 1


def test_next_offsets_is_one_past_the_last_record_of_each_partition():
    records = [
        Record("crm.activity", 0, 4, None, b""),
        Record("crm.activity", 0, 7, None, b""),
        Record("crm.activity", 0, 5, None, b""),
        Record("crm.activity", 1, 2, None, b""),
        Record("crm.loyalty", 0, 0, None, b""),
    ]

    assert next_offsets(records) == {
        ("crm.activity", 0): 8,
        ("crm.activity", 1): 3,
        ("crm.loyalty", 0): 1,
    }


def test_next_offsets_of_nothing_is_empty():
    assert next_offsets([]) == {}
