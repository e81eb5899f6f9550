"""Events per second the lifecycle consumer applies, batching on, on real PostgreSQL.

    .venv/bin/python tests/perf/lifecycle_consumer.py [--events 20000] [--batch 500]

Feeds the kernel consumer (decode, inbox claim, lifecycle's set-based handler,
outbox) with pre-encoded activity records — a mix of registrations, purchases
(several per customer) and refunds — so the figure is the apply path itself,
without Kafka's fetch latency. Uses a throwaway database ``crm_perf_lifecycle_*``
on the local PostgreSQL, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.lifecycle.domain.config import load_config
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.handlers import ACTIVITY, move_customers
from services.lifecycle.settings import DEFAULT_CONFIG
from services.lifecycle.tables import inbox, outbox
from shared import topics
from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.clock import FrozenClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.events import encode, new_event
from shared.events.activity import CustomerRegistered, OrderRefunded, PurchaseCompleted
from shared.events.payload import Payload
from shared.migrations import migrate
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.uow import Database

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def activity(events: int, per_customer: int = 5) -> list[Record]:
    """``events`` activity records: each customer registers, buys, and sometimes refunds."""
    records: list[Record] = []
    while len(records) < events:
        customer = str(uuid.uuid4())
        start = NOW - timedelta(days=300)
        payloads: list[tuple[Payload, datetime]] = [(CustomerRegistered(channel="web"), start)]
        for k in range(per_customer - 1):
            order = PurchaseCompleted(
                order_id=f"O-{customer[:8]}-{k}", amount_minor=2500, currency="CNY", channel="web"
            )
            payloads.append((order, start + timedelta(days=20 * k + 1)))
        payloads.append((OrderRefunded(order_id=f"O-{customer[:8]}-0", amount_minor=500), NOW))
        for payload, at in payloads:
            event = new_event(
                payload,
                source="/crm/profile",
                tenant_id="perf",
                key=customer,
                subject=customer,
                time=at,
            )
            records.append(
                Record(topics.ACTIVITY, 0, len(records), customer.encode(), encode(event))
            )
    return records[:events]


async def main(events: int, batch: int) -> None:
    settings = ServiceSettings(service="lifecycle")
    name = f"crm_perf_lifecycle_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=settings.pg_host, port=settings.pg_port, user=settings.pg_user, database="postgres"
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(
        f"postgresql+asyncpg://{settings.pg_user}@{settings.pg_host}:{settings.pg_port}/{name}"
    )
    try:
        await migrate(engine, "lifecycle")
        clock = FrozenClock(NOW)
        machine = StageMachine(load_config(DEFAULT_CONFIG))
        subscription = Subscription(
            group="lifecycle-activity",
            topics=(topics.ACTIVITY,),
            applies=ACTIVITY,
            handler=lambda uow, received: move_customers(uow, received, machine, clock),
            batch_size=batch,
        )
        consumer = Consumer(
            subscription,
            service="lifecycle",
            bus=MemoryBus(),
            db=Database(engine, outbox, clock),
            inbox=inbox,
        )
        records = activity(events)
        started = time.perf_counter()
        for at in range(0, len(records), batch):
            await consumer.process(records[at : at + batch])
        seconds = time.perf_counter() - started
        print(
            f"{len(records)} events in batches of {batch}: {seconds:.2f} s, "
            f"{len(records) / seconds:,.0f} events/s"
        )
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch))
