"""Latency of the satisfaction, channel and complaint analytics on feedback's PostgreSQL
(``make up`` running, or ``make infra`` with feedback migrated): fills a tenant of its
own with a year of synthetic data for N customers (about 3 orders, 1.5 answers and 0.1
complaints each, a respondent row with stage, tier and value class; skipped when the
tenant already has them), then times the reads behind the routes (without HTTP).

    .venv/bin/python -m tests.perf.feedback_analytics [--customers 100000] [--runs 10]

Prints p50 and max per read over a one-year window. ``--drop`` removes the tenant.

Channels, 100,000 customers (300,540 orders, 149,515 answers with a channel), on make
infra's PostgreSQL on a shared 2-core machine (1-min load 1.1 to 2.1), the old read and
the one-pass read alternated in one process, 10 runs each, twice: 1.69 / 1.70 s p50
(1.90 / 1.81 s max) before, 1.23 / 1.20 s p50 (1.35 / 1.33 s max) after; this script
alone after: 0.96 s p50 (1.28 s max). Orders and revenue are still summed from every
order of the window (no rollup on the write path: feedback replicas would queue on
today's rows); a per-day rollup saved 0.14 s of the read when tried (branch s22-rollup).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from services.feedback import channels, complaint_stats, satisfaction
from services.feedback.tables import channel_order, complaint, respondent, survey_response
from shared.db import create_engine, insert_rows
from shared.settings import ServiceSettings

TENANT = "perf-analytics"
END = datetime(2026, 11, 1, tzinfo=UTC)
YEAR = (END - timedelta(days=365), END)
CHANNELS = ["web", "app", "store", "phone", "email"]
STAGES = ["new_customer", "active", "loyal", "silent", "churned"]
TIERS = ["member", "silver", "gold", "platinum"]
SEVERITIES = ["low", "medium", "high", "critical"]


def _at(rng: random.Random) -> datetime:
    return YEAR[0] + timedelta(seconds=rng.randrange(365 * 86400))


def _customer(n: int) -> dict[str, list[dict[str, object]]]:
    rng, customer_id = random.Random(n), uuid.UUID(int=n + 1)
    who = {"tenant_id": TENANT, "customer_id": customer_id}
    rows: dict[str, list[dict[str, object]]] = {
        "respondent": [{**who, "stage": rng.choice(STAGES), "tier": rng.choice(TIERS),
                        "value_class": rng.choice("ABC"), "stage_at": END, "tier_at": END,
                        "value_class_at": END}],
        "orders": [{**who, "order_id": f"O-{n}-{k}", "channel": rng.choice(CHANNELS[:3]),
                    "amount_minor": rng.randrange(500, 50_000), "currency": "EUR",
                    "purchased_at": _at(rng)} for k in range(rng.randrange(1, 6))],
        "answers": [{**who, "response_id": uuid.uuid4(), "survey": survey,
                     "score": rng.randrange(11) if survey == "nps" else rng.randrange(1, 6),
                     "responded_at": _at(rng), "channel": rng.choice(CHANNELS)}
                    for survey in rng.choices(["nps", "csat"], k=rng.randrange(4))],
        "complaints": [],
    }  # fmt: skip
    if rng.random() < 0.1:
        opened = _at(rng)
        rows["complaints"].append({
            **who, "complaint_id": uuid.uuid4(), "complaint_ref": f"K-{n}",
            "severity": rng.choice(SEVERITIES), "category": "delivery",
            "channel": rng.choice(CHANNELS), "text": "", "status": "resolved",
            "opened_at": opened, "due_at": opened + timedelta(hours=72),
            "resolved_at": opened + timedelta(hours=rng.randrange(1, 120)),
        })  # fmt: skip
    return rows


TABLES = {
    "respondent": respondent,
    "orders": channel_order,
    "answers": survey_response,
    "complaints": complaint,
}


async def fill(engine, total: int) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        have = await conn.scalar(
            select(func.count()).select_from(respondent).where(respondent.c.tenant_id == TENANT)
        )
    started = time.perf_counter()
    for low in range(have or 0, total, 5_000):
        batch = [_customer(n) for n in range(low, min(low + 5_000, total))]
        async with engine.begin() as conn:
            for kind, table in TABLES.items():
                await insert_rows(conn, table, [r for c in batch for r in c[kind]])
    if (have or 0) < total:
        print(f"filled {total - (have or 0)} customers in {time.perf_counter() - started:.0f} s")
        async with engine.begin() as conn:
            for table in TABLES.values():
                await conn.exec_driver_sql(f"ANALYZE {table.name}")


async def measure(engine, runs: int) -> None:  # type: ignore[no-untyped-def]
    reads = {
        "scores by stage, weekly": lambda: satisfaction.grouped_scores(
            engine, TENANT, YEAR, "stage", "week"
        ),
        "scores by channel, daily": lambda: satisfaction.grouped_scores(
            engine, TENANT, YEAR, "channel", "day"
        ),
        "channels": lambda: channels.channel_figures(engine, TENANT, YEAR),
        "complaints by severity": lambda: complaint_stats.complaint_figures(
            engine, TENANT, YEAR, "severity", END
        ),
    }
    print(f"one year, {runs} runs per read (ms):")
    for name, read in reads.items():
        spent = []
        for _ in range(runs):
            started = time.perf_counter()
            await read()
            spent.append((time.perf_counter() - started) * 1000)
        print(f"  {name:26} p50 {statistics.median(spent):8.1f}  max {max(spent):8.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--drop", action="store_true", help="remove the tenant and stop")
    args = parser.parse_args()
    engine = create_engine(ServiceSettings(service="feedback").db_url)
    try:
        if args.drop:
            async with engine.begin() as conn:
                for table in TABLES.values():
                    await conn.execute(delete(table).where(table.c.tenant_id == TENANT))
            return
        await fill(engine, args.customers)
        await measure(engine, args.runs)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
