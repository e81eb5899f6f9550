"""Benchmark of the loyalty consumer with batching, on real PostgreSQL and Kafka.

    .venv/bin/python -m tests.perf.loyalty_consumer [--events 20000] [--customers 5000]

Publishes N purchase events (spread over the customers, so accounts are read,
locked and written again) to throwaway prefixed topics, then starts the loyalty
service in-process on a throwaway database and times until every purchase is in
the ledger. Prints the events per second the consumer applied.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from services.loyalty.tables import ledger_entry
from shared.bus import Message
from shared.bus.kafka import KafkaBus
from shared.events import encode
from shared.events.activity import PurchaseCompleted
from shared.events.envelope import new_event
from shared.settings import ServiceSettings
from shared.topics import PARTITIONS
from tests.integration.services import Infra, create_database, drop_database, run_service

ROOT = Path(__file__).resolve().parents[2]


async def main(events: int, customers: int) -> None:
    settings, run = ServiceSettings(), uuid.uuid4().hex[:8]
    infra = Infra(settings, f"perf{run}.", f"perf{run}")
    await _create_topics(infra.prefix)
    await create_database(infra, "loyalty")
    try:
        await _publish(infra, events, customers)
        async with run_service(infra, "loyalty") as loyalty:
            started = time.perf_counter()
            applied, first = 0, 0.0
            while applied < events:
                await asyncio.sleep(0.05)
                applied = await _ledger_entries(loyalty.runtime.db.engine)
                first = first or (time.perf_counter() if applied else 0.0)
            ended = time.perf_counter()
        total, consuming = applied / (ended - started), applied / (ended - (first or started))
        print(f"loyalty consumer: {applied} purchases in {ended - started:.2f} s from start")
        print(f"  {total:,.0f} events/s with the group join; {consuming:,.0f} once consuming")
    finally:
        await drop_database(infra, "loyalty")
        await _delete_topics(settings.kafka_servers, infra.prefix)


async def _publish(infra: Infra, events: int, customers: int) -> None:
    ids = [str(uuid.uuid4()) for _ in range(customers)]
    bus = KafkaBus(infra.settings.kafka_servers, "perf", topic_prefix=infra.prefix)
    await bus.start()
    try:
        for start in range(0, events, 2000):
            await bus.publish(
                [_purchase(ids[n % customers], n) for n in range(start, min(events, start + 2000))]
            )
    finally:
        await bus.stop()


def _purchase(customer: str, n: int) -> Message:
    payload = PurchaseCompleted(
        order_id=f"O-{n}", amount_minor=12345, currency="CNY", channel="web"
    )
    event = new_event(payload, source="/perf", tenant_id="default", key=customer,
                      subject=customer, time=datetime.now(UTC))  # fmt: skip
    return Message(event.topic, customer.encode(), encode(event))


async def _ledger_entries(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ledger_entry)) or 0)


async def _create_topics(prefix: str) -> None:
    script = await asyncio.create_subprocess_exec(
        sys.executable, "deploy/local/topics.py", "--prefix", prefix, "--timeout", "30", cwd=ROOT
    )
    if await script.wait() != 0:
        raise SystemExit("could not create the benchmark's topics")


async def _delete_topics(servers: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.delete_topics([prefix + name for name in PARTITIONS])
    finally:
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=5_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.customers))
