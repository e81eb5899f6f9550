"""Events per second through profile's view consumer (the 360 fold and segment
membership, one batch one transaction) with 20 segments defined, on real PostgreSQL.

    .venv/bin/python tests/perf/segments.py [--events 10000] [--batch 500] [--segments 20]

Feeds the kernel consumer (decode, inbox claim, the 360 fold, the segment evaluation,
outbox) with pre-encoded records: each customer's consent, attributes, purchases and
engagements, a stage and a churn score, so every rule has facts to read. The segments
mix the rule language's clauses (windows of 7 to 365 days, properties, fields,
attributes, consent). The figure is the apply path itself, without Kafka's fetch
latency. Uses a throwaway database ``crm_perf_segments_*``, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import func, select

from services.profile.handlers import FOLDED, fold_into_view
from services.profile.tables import inbox, outbox, parked, segment, segment_member
from shared import topics
from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.clock import FrozenClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.events import REGISTRY, encode, new_event
from shared.events.activity import EngagementRecorded, PurchaseCompleted
from shared.events.lifecycle import ChurnRiskChanged, StageCause, StageChanged
from shared.events.payload import Payload
from shared.events.profile import ConsentChanged, CustomerRecordUpdated
from shared.migrations import migrate
from shared.parking import Parking
from shared.settings import ServiceSettings
from shared.subscription import Subscription
from shared.uow import Database

NOW = datetime(2026, 11, 30, tzinfo=UTC)
TENANT = "perf"
TOPICS = (topics.ACTIVITY, topics.PROFILE, topics.LIFECYCLE)


def rules(count: int) -> list[dict[str, Any]]:
    """``count`` rules over every kind of clause."""
    kinds = [
        lambda d: {"activity": "purchase_completed", "within_days": d, "at_least": 2},
        lambda d: {
            "all": [
                {"field": "stage", "op": "eq", "value": "active"},
                {"activity": "purchase_completed", "within_days": d, "at_least": 1},
                {"field": "churn_score", "op": "gte", "value": 40},
                {"consent": {"channel": "email", "purpose": "marketing"}},
            ]
        },
        lambda d: {
            "activity": "engagement_recorded",
            "within_days": d,
            "where": [{"property": "page", "op": "in", "value": ["pricing", "cart"]}],
        },
        lambda d: {
            "any": [
                {"attribute": "plan", "op": "eq", "value": "gold"},
                {"not": {"activity": "purchase_completed", "within_days": d, "at_least": 1}},
            ]
        },
    ]
    days = [7, 30, 90, 180, 365]
    return [kinds[i % len(kinds)](days[i % len(days)]) for i in range(count)]


def history(events: int, per_customer: int = 10) -> list[Record]:
    """``events`` records, ``per_customer`` about each customer, one customer after another."""
    records: list[Record] = []
    while len(records) < events:
        customer = str(uuid.uuid4())
        consent = ConsentChanged(
            channel="email", purpose="marketing", granted=True, at=NOW, source="pos"
        )
        record = CustomerRecordUpdated(
            customer_id=customer,
            version=2,
            attributes={"plan": "gold"},
            changed=["plan"],
            source="pos",
            updated_at=NOW,
        )
        stage = StageChanged(to="active", at=NOW, cause=StageCause(kind="event", ref="p"))
        risk = ChurnRiskChanged(score=55, level="medium", reasons=[], at=NOW)
        facts: list[tuple[Payload, datetime]] = [(p, NOW) for p in (consent, record, stage, risk)]
        for k in range(per_customer - len(facts)):
            at = NOW - timedelta(days=37 * k + 1)
            if k % 2:
                facts.append(
                    (
                        EngagementRecorded(
                            kind="visit", channel="web", properties={"page": "pricing"}
                        ),
                        at,
                    )
                )
            else:
                order = f"O-{customer[:8]}-{k}"
                bought = PurchaseCompleted(
                    order_id=order, amount_minor=2500, currency="EUR", channel="web"
                )
                facts.append((bought, at))
        for payload, at in facts:
            event = new_event(
                payload,
                source="/crm/perf",
                tenant_id=TENANT,
                key=customer,
                subject=customer,
                time=at,
            )
            records.append(Record(event.topic, 0, len(records), customer.encode(), encode(event)))
    return records[:events]


async def main(events: int, batch: int, segments: int) -> None:
    settings = ServiceSettings(service="profile")
    name = f"crm_perf_segments_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=settings.pg_host, port=settings.pg_port, user=settings.pg_user, database="postgres"
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(
        f"postgresql+asyncpg://{settings.pg_user}@{settings.pg_host}:{settings.pg_port}/{name}"
    )
    try:
        await migrate(engine, "profile")
        clock = FrozenClock(NOW)
        async with engine.begin() as conn:
            await conn.execute(
                segment.insert(),
                [
                    {"segment_id": uuid.uuid4(), "tenant_id": TENANT, "name": f"segment {i}",
                     "description": "", "rule": rule, "version": 1, "created_at": NOW,
                     "updated_at": NOW}
                    for i, rule in enumerate(rules(segments))
                ],
            ) if segments else None  # fmt: skip
        parking = Parking(parked, "profile", timedelta(hours=72), clock)
        subscription = Subscription(
            group="profile-view",
            topics=TOPICS,
            applies=tuple(p for p in FOLDED if _on(p, TOPICS)),
            handler=lambda uow, received: fold_into_view(uow, received, clock, parking),
            batch_size=batch,
        )  # fmt: skip
        db = Database(engine, outbox, clock)
        consumer = Consumer(subscription, service="profile", bus=MemoryBus(), db=db, inbox=inbox)
        records = history(events)
        started = time.perf_counter()
        for at in range(0, len(records), batch):
            await consumer.process(records[at : at + batch])
        seconds = time.perf_counter() - started
        async with engine.connect() as conn:
            members = await conn.scalar(select(func.count()).select_from(segment_member))
        print(
            f"{len(records)} events, {segments} segments, batches of {batch}: {seconds:.2f} s, "
            f"{len(records) / seconds:,.0f} events/s ({members} memberships)"
        )
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _on(payload: type[Payload], wanted: tuple[str, ...]) -> bool:
    type_name = REGISTRY.type_name(payload) or ""
    return ".".join(type_name.split(".")[:2]) in wanted


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--segments", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch, args.segments))
