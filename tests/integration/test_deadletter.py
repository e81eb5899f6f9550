"""Operators see why a message was dead-lettered, and replay it once the cause is fixed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from shared import deadletter
from shared.bus.kafka import KafkaBus
from shared.consumer import Consumer
from shared.subscription import Received
from shared.uow import UnitOfWork
from tests.integration.conftest import counter_value, eventually, publish_events, running
from tests.integration.harness import SERVICE, count_events, counting, purchase


async def test_a_dead_letter_is_listed_with_its_reason_and_replayed_once_fixed(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: Callable[..., Consumer],
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    broken = True

    async def handler_with_a_bug(uow: UnitOfWork, batch: Sequence[Received]) -> None:
        if broken:
            raise RuntimeError("a bug in the handler")
        await count_events(uow, batch)

    event = purchase(customer, tenant)
    await publish_events(bus, event)

    async def dead_letters_about_customer() -> list[deadletter.DeadLetter]:
        return [
            d for d in await deadletter.read(servers, prefix) if d.record.key == customer.encode()
        ]

    async with running(consumers(counting(group, handler_with_a_bug))):
        await eventually(lambda: _non_empty(dead_letters_about_customer()))
    mine = await dead_letters_about_customer()
    assert len(mine) == 1 and mine[0].service == SERVICE
    assert "a bug in the handler" in (mine[0].error or "")
    assert mine[0].origin == "crm.activity"

    broken = False
    async with running(consumers(counting(group, handler_with_a_bug))):
        replayed = await deadletter.replay(servers, prefix, SERVICE)
        assert customer.encode() in {d.record.key for d in replayed}
        await eventually(lambda: _equals(counter_value(engine, customer), 1))
        again = await deadletter.replay(servers, prefix, SERVICE)

    assert customer.encode() not in {d.record.key for d in again}
    assert await counter_value(engine, customer) == 1


async def _non_empty(found: Awaitable[Sequence[object]]) -> bool:
    return bool(await found)


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
