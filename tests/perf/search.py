"""Search latency on profile's PostgreSQL (``make up`` running, or ``make infra`` with
profile migrated): fills a tenant of its own with N synthetic customers (names, e-mails,
phones, attributes, a 360 row each; skipped when the tenant already has them), then
times the search query behind ``GET /v1/customers`` for a mix of searches.

    .venv/bin/python -m tests.perf.search [--customers 1000000] [--queries 200]

Prints p50 and p95 per kind of search (the query through ``services.profile.search``,
on the database, without HTTP). The tenant is left in place for a rerun; drop it with
``--drop``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from services.profile import search
from services.profile.tables import customer, customer_view
from shared.db import create_engine, insert_rows
from shared.settings import ServiceSettings

TENANT = "perf-search"
FIRST = ["li", "wei", "anna", "jonas", "maria", "sofia", "omar", "yuki", "pierre", "ines"]
LAST = ["wang", "schmidt", "garcia", "rossi", "novak", "kim", "dubois", "silva", "berg", "costa"]
PLANS = ["free", "basic", "gold", "platinum"]
STAGES = ["lead", "new_customer", "active", "loyal", "silent", "churned"]


def _person(n: int, now: datetime) -> tuple[dict[str, object], dict[str, object]]:
    rng = random.Random(n)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    customer_id = uuid.UUID(int=n + 1)
    record = {
        "tenant_id": TENANT,
        "customer_id": customer_id,
        "name": f"{first.title()} {last.title()} {n}",
        "email": f"{first}.{last}.{n}@example.com",
        "phone": f"+4930{n:09d}",
        "owner_source": "perf",
        "attributes": {"plan": rng.choice(PLANS)},
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    view = {
        "tenant_id": TENANT,
        "customer_id": customer_id,
        "stage": rng.choice(STAGES),
        "tier": "member",
        "points_balance": 0,
        "points_pending": 0,
        "open_complaints": 0,
        "orders": 0,
        "revenue_minor": 0,
        "updated_at": now,
    }
    return record, view


async def fill(engine, total: int) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        have = await conn.scalar(
            select(func.count()).select_from(customer).where(customer.c.tenant_id == TENANT)
        )
    now, started = datetime.now(UTC), time.perf_counter()
    for low in range(have or 0, total, 10_000):
        people = [_person(n, now) for n in range(low, min(low + 10_000, total))]
        async with engine.begin() as conn:
            await insert_rows(conn, customer, [p[0] for p in people])
            await insert_rows(conn, customer_view, [p[1] for p in people])
    if (have or 0) < total:
        print(f"filled {total - (have or 0)} customers in {time.perf_counter() - started:.0f} s")
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE customer")
            await conn.exec_driver_sql("ANALYZE customer_view")


def _searches(rng: random.Random, total: int) -> dict[str, search.Search]:
    n = rng.randrange(total)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "name prefix": search.Search(TENANT, text=f"{first} {last[:2]}", limit=50),
        "name typo": search.Search(TENANT, text=f"{last[:-1]}x", limit=50),
        "email prefix": search.Search(TENANT, text=f"{first}.{last}.{n}"[:-1], limit=50),
        "phone prefix": search.Search(TENANT, text=f"+4930{n:09d}"[:-2], limit=50),
        "stage + attribute": search.Search(
            TENANT, stage="active", attributes=(("plan", "gold"),), limit=50
        ),
    }


async def measure(engine, total: int, queries: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    times: dict[str, list[float]] = {}
    for _ in range(queries):
        for kind, wanted in _searches(rng, total).items():
            started = time.perf_counter()
            await search.run(engine, wanted)
            times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    print(f"search on {total} customers, {queries} queries per kind (ms):")
    for kind, spent in times.items():
        spent.sort()
        p95 = spent[int(len(spent) * 0.95) - 1]
        print(f"  {kind:18} p50 {statistics.median(spent):7.1f}  p95 {p95:7.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--drop", action="store_true", help="remove the tenant and stop")
    args = parser.parse_args()
    engine = create_engine(ServiceSettings(service="profile").db_url)
    try:
        if args.drop:
            async with engine.begin() as conn:
                for table in (customer_view, customer):
                    await conn.execute(delete(table).where(table.c.tenant_id == TENANT))
            return
        await fill(engine, args.customers)
        await measure(engine, args.customers, args.queries)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
