"""How long a full rescore takes (every customer's p_alive, churn risk, CLV and value
class, after a refit), on real PostgreSQL, and what that makes for 1,000,000 customers.

    .venv/bin/python tests/perf/lifecycle_rescore.py [--customers 20000] [--batch 500]

Seeds ``--customers`` customers (1 to 6 orders each, in EUR) straight into a throwaway
database ``crm_perf_rescore_*`` (dropped afterwards), scores them once and cuts the
value classes, stores a new fit (BG/NBD and Gamma-Gamma) that makes every score due,
then times the rescore job draining them all. The job's work per customer is constant
(a batch of due rows from the (tenant, risk_at) index, one locked read, one write per
table, per batch), so the time scales linearly: the extrapolation to 1,000,000 is
customers / rate, on the same machine (check it: the rate at two sizes should agree).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.lifecycle import rescore, store, valuing
from services.lifecycle.domain.bgnbd import Params
from services.lifecycle.domain.config import load_config
from services.lifecycle.domain.gamma_gamma import Params as SpendParams
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.settings import DEFAULT_CONFIG
from services.lifecycle.store import StoredModel
from services.lifecycle.tables import customer_state, lifecycle_purchase, outbox
from shared.clock import FrozenClock
from shared.db import create_engine, insert_rows
from shared.migrations import migrate
from shared.settings import ServiceSettings
from shared.uow import Database

NOW = datetime(2026, 11, 20, tzinfo=UTC)
TENANT = "perf"


def seed(customers: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """State rows (scored a day ago, so not yet due) and their orders."""
    states, orders = [], []
    for _ in range(customers):
        customer = uuid.uuid4()
        first = NOW - timedelta(days=rng.randint(30, 700))
        days = sorted(
            {first + timedelta(days=rng.randint(0, 29) * k) for k in range(rng.randint(1, 6))}
        )
        for k, at in enumerate(days):
            orders.append(
                {
                    "tenant_id": TENANT,
                    "customer_id": customer,
                    "order_id": f"O-{k}",
                    "purchased_at": at,
                    "amount_minor": rng.randint(500, 20_000),
                    "refunded_minor": 0,
                    "state": "bought",
                    "currency": "EUR",
                }
            )
        states.append(
            {
                "tenant_id": TENANT,
                "customer_id": customer,
                "stage": "active",
                "stage_since": days[-1],
                "orders": len(days),
                "revenue_minor": 0,
                "first_purchase_at": days[0],
                "last_purchase_at": days[-1],
                "reactivations": 0,
                "updated_at": NOW - timedelta(days=1),
                "risk_at": NOW - timedelta(hours=1),
                "occasions": len(days),
            }
        )
    return states, orders


async def run(db: Database, customers: int, batch: int) -> None:
    states, orders = seed(customers, random.Random(14))
    async with db.unit_of_work() as uow:
        for at in range(0, len(states), 5000):
            await insert_rows(uow.conn, customer_state, states[at : at + 5000])
        for at in range(0, len(orders), 5000):
            await insert_rows(uow.conn, lifecycle_purchase, orders[at : at + 5000])
        await uow.commit()
    machine = StageMachine(load_config(DEFAULT_CONFIG))
    await refit(db, customers, NOW)
    await rescore.rescore_due(
        db, machine, FrozenClock(NOW + timedelta(minutes=1)), batch
    )  # first cut
    await refit(db, customers, NOW + timedelta(minutes=2))
    started = time.perf_counter()
    batches = timed_batches()
    swept = await rescore.rescore_due(db, machine, FrozenClock(NOW + timedelta(minutes=3)), batch)
    seconds = time.perf_counter() - started
    rate = swept.counts.get("rescored", 0) / seconds
    print(
        f"rescored {swept.counts} of {customers} customers in batches of {batch}: {seconds:.1f} s"
    )
    print(f"  {rate:,.0f} customers/s; 1,000,000 customers ≈ {1_000_000 / rate / 60:.0f} min")
    first, last = batches[:5], batches[-6:-1]  # the very last batch is a short one
    print(
        f"  a batch: first five {1000 * sum(first) / len(first):.0f} ms, "
        f"last five {1000 * sum(last) / len(last):.0f} ms (equal if the time is linear)"
    )


def timed_batches() -> list[float]:
    """Time every batch of the rescore, to see whether a batch costs more as it goes."""
    times: list[float] = []
    batch = rescore._batch

    async def timed(*args: object) -> object:
        started = time.perf_counter()
        try:
            return await batch(*args)  # type: ignore[arg-type]
        finally:
            times.append(time.perf_counter() - started)

    rescore._batch = timed  # type: ignore[assignment]
    return times


async def refit(db: Database, customers: int, at: datetime) -> None:
    """Store a fit (as ``POST /v1/lifecycle/model/fit`` would): every older score is due."""
    model = StoredModel(
        TENANT, "bg_nbd", Params(0.243, 30.9, 0.793, 2.426), "day", at, customers, -1.0, at
    )
    spend = valuing.SpendModel(
        TENANT, "EUR", SpendParams(6.25, 3.74, 1544.0), at, customers, -1.0, at
    )
    async with db.unit_of_work() as uow:
        await store.add_model(uow.conn, model)
        await valuing.add_spend_models(uow.conn, [spend])
        await uow.commit()


async def main(customers: int, batch: int) -> None:
    settings = ServiceSettings(service="lifecycle")
    name = f"crm_perf_rescore_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=settings.pg_host, port=settings.pg_port, user=settings.pg_user, database="postgres"
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(
        f"postgresql+asyncpg://{settings.pg_user}@{settings.pg_host}:{settings.pg_port}/{name}"
    )
    try:
        await migrate(engine, "lifecycle")
        await run(Database(engine, outbox, FrozenClock(NOW)), customers, batch)
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.batch))
