"""An idle consumer that stopped consuming while its group stood behind is restarted
(``shared.bus.stalls``): after a broker crash an aiokafka consumer can stay alive and
never consume again, with no error to catch. A member with nothing to do, or whose
group is working through its backlog, is left alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.bus.stalls import Stalled, StallWatch, Standing
from shared.consumer import Consumer
from shared.subscription import Subscription


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watch(clock: Clock) -> StallWatch:
    return StallWatch(stall_seconds=120, look_seconds=30, clock=clock)


def test_a_group_standing_still_behind_for_the_stall_time_is_stalled() -> None:
    clock = Clock()
    w = watch(clock)
    for at in (30, 60, 90, 120):
        clock.now = at
        assert w.due()
        w.look(Standing(committed=10, end=50))
    clock.now = 150
    with pytest.raises(Stalled, match="committed 10, end 50"):
        w.look(Standing(committed=10, end=50))


def test_a_group_working_through_its_backlog_or_caught_up_is_not() -> None:
    clock = Clock()
    w = watch(clock)
    for step in range(1, 20):  # another member commits as it goes
        clock.now = 30.0 * step
        w.look(Standing(committed=10 * step, end=1000))
    w2 = watch(clock)
    for _ in range(1, 20):  # nothing to do
        clock.now += 30
        w2.look(Standing(committed=50, end=50))


def test_a_coordinator_that_does_not_answer_counts_as_standing_still() -> None:
    clock = Clock()
    w = watch(clock)
    clock.now = 30
    w.look(Standing(committed=None, end=50))
    clock.now = 150
    with pytest.raises(Stalled):
        w.look(Standing(committed=None, end=50))


def test_consuming_resets_the_watch() -> None:
    clock = Clock()
    w = watch(clock)
    clock.now = 30
    w.look(Standing(committed=10, end=50))
    clock.now = 140
    w.consumed()
    assert not w.due()
    clock.now = 260
    w.look(Standing(committed=10, end=50))  # the clock starts again from here
    clock.now = 300
    w.look(Standing(committed=10, end=50))


class Wedged(MemoryBus):
    """A bus whose members fetch nothing ever again, while the topic holds messages:
    what an aiokafka consumer did after a broker crash."""

    def subscriber(self, group: str, topics: Sequence[str]):  # type: ignore[no-untyped-def]
        member = super().subscriber(group, topics)

        async def nothing(max_records: int, max_wait: float) -> list[Record]:
            await asyncio.sleep(min(max_wait, 0.01))
            return []

        member.fetch = nothing  # type: ignore[method-assign]
        return member


def consumer_on(bus: MemoryBus) -> Consumer:
    subscription = Subscription(group="g", topics=("crm.activity",), applies=(), handler=None)  # type: ignore[arg-type]
    return Consumer(subscription, service="t", bus=bus, db=None, inbox=None, stall_seconds=0.2)  # type: ignore[arg-type]


async def test_a_wedged_member_raises_so_its_supervisor_starts_it_again() -> None:
    bus = Wedged()
    bus.logs["crm.activity"].append(Record("crm.activity", 0, 0, b"k", b"{}", ()))
    with pytest.raises(Stalled):
        await asyncio.wait_for(consumer_on(bus).run(), timeout=5)


async def test_an_idle_member_with_nothing_to_do_keeps_running() -> None:
    consumer = consumer_on(Wedged())
    running = asyncio.create_task(consumer.run())
    await asyncio.sleep(0.6)  # three stall times
    assert not running.done()
    consumer.stop()
    await asyncio.wait_for(running, timeout=5)
