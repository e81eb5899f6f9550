"""How long a rule change tried on history takes (issue 9, item 3), on real PostgreSQL.

    .venv/bin/python -m tests.perf.replay_rules [--service lifecycle] [--customers 2000]

Generates N customers' history as a partner would have sent it over two years (a
registration, one to six purchases, a refund now and then), then times
``services.replaying.replay``: the history folded twice into scratch databases beside a
throwaway ``crm_perf_replay_*`` database (itself dropped afterwards), under the shipped
rules and under a candidate (lifecycle: silence after 30 days instead of 90; loyalty:
two points per unit instead of one; feedback: a 48-hour SLA for critical complaints),
then compared. The history is handed over from memory: reading it from the topics adds
what a rebuild's read takes (``services.rebuilding``). Prints events, seconds, events/s
and how many customers the candidate would change. The lead runs ``--customers 100000``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services import definition
from services.replaying import Candidate, replay
from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.clock import SystemClock
from shared.db import create_engine
from shared.events import CloudEvent, encode, new_event
from shared.events.activity import (
    ComplaintFiled,
    CustomerRegistered,
    OrderRefunded,
    PurchaseCompleted,
)
from shared.migrations import migrate
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.uow import Database

TENANT = "perf-replay"
CANDIDATES = {  # the shipped file's line → the candidate's
    "lifecycle": ("silent_after_days = 90", "silent_after_days = 30"),
    "loyalty": ("default_points_per_unit = 1 ", "default_points_per_unit = 2 "),
    "feedback": ("critical = 4\n", "critical = 48\n"),
}


def history(customers: int, seed: int) -> list[CloudEvent]:
    """Each customer's registration, purchases and the odd refund or complaint."""
    rng, now = random.Random(seed), datetime.now(UTC)
    events: list[CloudEvent] = []
    for n in range(customers):
        who = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = now - timedelta(days=rng.uniform(30, 730))
        events.append(_about(CustomerRegistered(channel="web"), who, at))
        for k in range(rng.randint(1, 6)):
            at += timedelta(days=rng.expovariate(1 / 60))
            if at >= now:
                break
            order = f"o-{n}-{k}"
            amount = rng.randint(1_000, 500_000)
            data = PurchaseCompleted(
                order_id=order, amount_minor=amount, currency="CNY", channel="web"
            )
            events.append(_about(data, who, at))
            if rng.random() < 0.05:
                refund = OrderRefunded(order_id=order, amount_minor=amount // 2)
                events.append(_about(refund, who, at + timedelta(days=3)))
            if rng.random() < 0.03:
                filed = ComplaintFiled(
                    complaint_ref=f"c-{n}-{k}",
                    severity="critical",
                    category="delivery",
                    channel="web",
                )
                events.append(_about(filed, who, at + timedelta(days=1)))
    return sorted((e for e in events if e.time < now), key=lambda e: e.time)


def _about(payload: Any, who: str, at: datetime) -> CloudEvent:
    return new_event(
        payload, source="/crm/profile", tenant_id=TENANT, key=who, subject=who, time=at
    )


def records(events: Sequence[CloudEvent]) -> dict[str, list[Record]]:
    """The events as the topics would hold them, by topic."""
    by_topic: dict[str, list[Record]] = {}
    for event in events:
        log = by_topic.setdefault(event.topic, [])
        log.append(Record(event.topic, 0, len(log), event.partitionkey.encode(), encode(event)))
    return by_topic


async def run(service_name: str, customers: int, seed: int) -> None:
    base = ServiceSettings(service=service_name)
    name = f"crm_perf_replay_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=base.pg_host, port=base.pg_port, user=base.pg_user,
        password=base.pg_password.get_secret_value() or None, database="postgres",
    )  # fmt: skip
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = base.db_url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    try:
        await migrate(engine, service_name)
        await _timed(service_name, engine, url, customers, seed)
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _timed(service_name: str, engine: Any, url: str, customers: int, seed: int) -> None:
    service = definition(service_name)
    settings = service.settings(service=service_name, database_url=url)
    clock = SystemClock()
    live: Runtime[Any, Any] = Runtime(
        settings, clock, Database(engine, service.outbox, clock), MemoryBus(), None
    )
    logs = records(history(customers, seed))
    spec = __import__(f"services.{service_name}.replay", fromlist=["REPLAY"]).REPLAY

    async def read(subscription: Subscription) -> Sequence[Record]:
        return [r for topic in subscription.topics for r in logs.get(topic, [])]

    assert service.resources is not None
    async with service.resources(live) as book:
        live.resources = book
        shipped, tried = CANDIDATES[service_name]
        candidate = Candidate(book.installation_text.replace(shipped, tried), TENANT)
        started = time.perf_counter()
        diff = await replay(spec, live, candidate, read, progress=lambda line: None)
        seconds = time.perf_counter() - started
    events, held = diff["events"], sum(map(len, logs.values()))
    print(
        f"{service_name}: {customers:,} customers, {events:,} events (of {held:,} "
        f"on {', '.join(sorted(logs))}) replayed twice and compared in {seconds:.1f} s "
        f"({2 * events / seconds:,.0f} events/s folded); "
        f"{diff['customers_changed']:,} of {diff['customers']:,} customers would change; "
        f"rules: {', '.join(diff['rules_changed'])}"
    )
    for measure, keys in diff["counts"].items():
        print(
            f"  {measure}: " + ", ".join(f"{k} {v['before']}→{v['after']}" for k, v in keys.items())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=sorted(CANDIDATES), default="lifecycle")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.service, arguments.customers, arguments.seed))


if __name__ == "__main__":
    main()
