"""Benchmark of feedback's invitation sweep and the desk's queue, on real PostgreSQL.

    .venv/bin/python -m tests.perf.feedback_desk [--invitations 5000] [--complaints 100000]

On a throwaway database migrated like feedback's: schedules N invitations due now
(one per customer) and times two replicas' sweeps draining them together
(invitations per second; checks none was sent twice), then fills the desk with M
open complaints (spread over severities, assignees, categories and due times) and
times the queue's first page under each filter (p50 and p95 of 20 reads).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from services.feedback import views
from services.feedback.domain.config import load_config
from services.feedback.settings import SHIPPED_CONFIG
from services.feedback.sweep import Sweeper, sweep_due
from services.feedback.tables import complaint, outbox, survey_invitation
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.migrations import migrate
from shared.settings import ServiceSettings
from shared.uow import Database
from tests.integration.services import Infra, create_database, drop_database

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TENANT = "perf"
CHUNK = 5000


async def main(invitations: int, complaints: int) -> None:
    infra = Infra(ServiceSettings(), "perf.", f"perf{uuid.uuid4().hex[:8]}")
    await create_database(infra, "feedback")
    engines = [create_engine(infra.database_url("feedback")) for _ in range(2)]
    try:
        await migrate(engines[0], "feedback")
        await _sweep_rate(engines, invitations)
        await _desk_latency(engines[0], complaints)
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_database(infra, "feedback")


async def _sweep_rate(engines, count: int) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"invitation_id": uuid.uuid4(), "tenant_id": TENANT, "customer_id": uuid.uuid4(),
         "survey": "csat", "order_id": f"O-{n}", "status": "scheduled", "due_at": NOW,
         "occasion": "purchase"}
        for n in range(count)
    ]  # fmt: skip
    async with engines[0].begin() as conn:
        for start in range(0, count, CHUNK):
            await conn.execute(insert(survey_invitation), rows[start : start + CHUNK])
    config, clock = load_config(SHIPPED_CONFIG), FrozenClock(NOW)
    sweeper = Sweeper(config, 200, b"k" * 32)
    began = time.perf_counter()
    swept = await asyncio.gather(*(sweep_due(Database(e, outbox, clock), sweeper) for e in engines))
    elapsed = time.perf_counter() - began
    sent = sum(s.counts["invited"] for s in swept)
    async with engines[0].connect() as conn:
        announced = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    assert sent == count == announced, (sent, count, announced)
    shares = [s.counts["invited"] for s in swept]
    print(f"sweep: {count} invitations by two replicas in {elapsed:.2f} s: "
          f"{count / elapsed:.0f} invitations/s (each replica's share: {shares})")  # fmt: skip


async def _desk_latency(engine, count: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(13)
    severities, statuses = (
        ["low", "medium", "high", "critical"],
        ["open", "in_progress", "waiting_on_customer"],
    )
    async with engine.begin() as conn:
        for start in range(0, count, CHUNK):
            await conn.execute(insert(complaint), [
                _complaint(rng, n, severities, statuses) for n in range(start, start + CHUNK)
            ])  # fmt: skip
        await conn.exec_driver_sql("ANALYZE complaint")
    queries = {
        "all": views.DeskQuery(),
        "status=open": views.DeskQuery(status="open"),
        "breached=true": views.DeskQuery(breached=True),
        "severity=critical&breached=false": views.DeskQuery(severity="critical", breached=False),
        "assignee=agent-7": views.DeskQuery(assignee="agent-7"),
        "category=detractor_recovery": views.DeskQuery(category="detractor_recovery"),
    }
    print(f"desk: {count} open complaints, first page of 50, 20 reads each")
    for name, wanted in queries.items():
        times = []
        for _ in range(20):
            began = time.perf_counter()
            await views.desk_page(engine, TENANT, wanted, 50, None, NOW)
            times.append((time.perf_counter() - began) * 1000)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"  {name:36} p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms")


def _complaint(rng: random.Random, n: int, severities: list[str], statuses: list[str]) -> dict:
    opened = NOW - timedelta(minutes=rng.randrange(60 * 24 * 30))
    return {
        "complaint_id": uuid.uuid4(), "tenant_id": TENANT, "customer_id": uuid.uuid4(),
        "complaint_ref": f"T-{n}", "severity": rng.choice(severities),
        "category": "detractor_recovery" if n % 10 == 0 else f"cat-{n % 20}",
        "channel": "web", "text": "", "status": rng.choice(statuses), "opened_at": opened,
        "due_at": opened + timedelta(hours=rng.choice([4, 24, 48, 72])),
        "escalation_level": 0, "assignee": f"agent-{n % 40}" if n % 3 else None,
    }  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=5000)
    parser.add_argument("--complaints", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.invitations, args.complaints))
