"""Benchmark: events per second of the busiest consumer service with one and with two
replicas, on the same data, on real PostgreSQL and Kafka.

    .venv/bin/python -m tests.perf.scale_out [--events 20000] [--customers 5000]

The busiest is profile: it applies every partner event twice, once to resolve the
customer (``profile-inbound``, which announces it on crm.activity) and once to fold it
into the customer 360 (``profile-view``). For each replica count the script creates
fresh topics and a fresh database, starts the replicas (``tests.integration.replica_node``
processes, one replica each) and waits until they share the partitions, publishes the
same purchases to crm.inbound, and times until every one is in the 360. It prints the
events per second of each run and their ratio. On a machine with fewer cores than
replicas (plus PostgreSQL and Kafka) the ratio says little; the figures are meant to be
measured again on a bigger one.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from shared import topics
from shared.bus import Message
from shared.bus.kafka import KafkaBus
from shared.events import encode, new_event
from shared.events.activity import CustomerRef, Inbound, PurchaseCompleted
from shared.settings import ServiceSettings
from tests.integration.nodes import Node, members_hold_all, until
from tests.integration.services import Infra, create_database, drop_database
from tests.perf.loyalty_consumer import _create_topics, _delete_topics

GROUPS = {"profile-inbound": topics.INBOUND, "profile-view": topics.ACTIVITY}


def purchases(events: int, customers: int) -> list[Message]:
    """``events`` purchases spread over ``customers`` partner references, a day ago."""
    at = datetime.now(UTC) - timedelta(days=1)
    messages = []
    for n in range(events):
        ref = CustomerRef(source="pos", external_id=f"C-{n % customers}")
        activity = PurchaseCompleted(
            order_id=f"O-{n}", amount_minor=1000, currency="EUR", channel="store"
        )
        payload = Inbound[PurchaseCompleted](
            partner="pos", partner_event_id=f"P-{n}", customer=ref, activity=activity
        )
        event = new_event(payload, source="/partners/pos", tenant_id="default",
                          key=f"pos:{ref.external_id}", time=at, partner="pos")  # fmt: skip
        messages.append(Message(event.topic, event.partitionkey.encode(), encode(event)))
    return messages


async def run(replicas: int, messages: list[Message], logs: Path) -> float:
    """Events per second with ``replicas`` replicas of profile, from the first publish to
    the last purchase in the 360."""
    settings, run_id = ServiceSettings(), uuid.uuid4().hex[:8]
    infra = Infra(settings, f"perf{run_id}.", f"perf{run_id}")
    await _create_topics(infra.prefix)
    await create_database(infra, "profile")
    nodes = [
        await Node.start(infra.prefix, infra.run, f"{run_id}-{n}", logs, ["profile"])
        for n in range(replicas)
    ]
    try:
        for node in nodes:
            await node.ready(GROUPS)
        await until(lambda: members_hold_all(settings.kafka_servers, infra.prefix, GROUPS,
                                             replicas))  # fmt: skip
        bus = KafkaBus(settings.kafka_servers, "perf", topic_prefix=infra.prefix)
        await bus.start()
        started = time.perf_counter()
        try:
            for at in range(0, len(messages), 2000):
                await bus.publish(messages[at : at + 2000])
        finally:
            await bus.stop()
        await until(lambda: _folded(infra, len(messages)), within=3600)
        return len(messages) / (time.perf_counter() - started)
    finally:
        for node in nodes:
            await node.end()
        await drop_database(infra, "profile")
        await _delete_topics(settings.kafka_servers, infra.prefix)


async def _folded(infra: Infra, events: int) -> bool:
    s = infra.settings
    conn = await asyncpg.connect(host=s.pg_host, port=s.pg_port, user=s.pg_user,
                                 password=s.pg_password.get_secret_value() or None,
                                 database=infra.database("profile"))  # fmt: skip
    try:
        return (
            int(await conn.fetchval("SELECT coalesce(sum(orders), 0) FROM customer_view")) >= events
        )
    finally:
        await conn.close()


async def main(events: int, customers: int) -> None:
    messages = purchases(events, customers)
    with tempfile.TemporaryDirectory() as logs:
        one = await run(1, messages, Path(logs))
        print(f"profile, 1 replica:  {events} purchases, {one:,.0f} events/s", flush=True)
        two = await run(2, messages, Path(logs))
        print(f"profile, 2 replicas: {events} purchases, {two:,.0f} events/s", flush=True)
    print(f"ratio 2/1: {two / one:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=5_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.customers))
