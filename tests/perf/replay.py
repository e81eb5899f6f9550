"""Replay benchmark: a business's first 18 months posted through the gateway of ``make up``.

    make bench          (a fresh stack of its own: tests/perf/fresh_stack.sh)
    .venv/bin/python -m tests.perf.replay [--customers 23000] [--concurrency 4] [--seed 7]

Generates a realistic history (``tests/perf/history.py``: about 70,000 events over
23,000 customers), creates a fresh tenant for it, posts it through
``/v1/events/batch`` in batches of 500 in event-time order, and waits until every
service has applied all of it: the funnel holds every buyer (lifecycle), every
360 shows every order (profile), every order has its points in the ledger
(loyalty), every complaint is recorded (feedback). Prints events/s at the gateway
and end to end, CPU seconds per process (the five services, PostgreSQL, Kafka)
and per event, and the peak memory (PSS) of the whole stack.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.feedback.tables import complaint
from services.lifecycle.tables import customer_state, lifecycle_purchase
from services.loyalty.tables import ledger_entry
from services.profile.tables import customer_view
from shared.db import create_engine
from shared.settings import ServiceSettings
from tests.perf import statements
from tests.perf.history import SOURCES, History, generate
from tests.perf.stack import Stack, local_data_dir

BATCH = 500


async def tenant_client(settings: ServiceSettings, tenant: str) -> httpx.AsyncClient:
    """A client holding a fresh key of a fresh tenant, so runs never see each other."""
    operator = (local_data_dir() / "bootstrap-api-key").read_text().strip()
    base = f"http://127.0.0.1:{settings.gateway_port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.post(
            "/v1/admin/api-keys",
            headers={"Authorization": f"Bearer {operator}"},
            json={
                "name": f"benchmark {tenant}",
                "partner": "bench",
                "scopes": ["events:write", "customers:read"],
                "tenant_id": tenant,
                "sources": sorted(set(SOURCES.values())),
            },
        )
        answer.raise_for_status()
    key = answer.json()["api_key"]
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120)


async def post_all(client: httpx.AsyncClient, history: History, concurrency: int) -> float:
    """Post the history in batches (``concurrency`` in flight); seconds until all are accepted."""
    batches = [history.events[i : i + BATCH] for i in range(0, len(history.events), BATCH)]
    gate = asyncio.Semaphore(concurrency)

    async def post(batch: list[dict[str, Any]]) -> None:
        async with gate:
            for attempt in range(20):
                answer = await client.post("/v1/events/batch", json={"events": batch})
                if answer.status_code not in (429, 503):
                    break
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")) * (attempt + 1))
            answer.raise_for_status()
            refused = [r for r in answer.json()["results"] if r["status"] != "accepted"]
            if refused:
                raise RuntimeError(f"{len(refused)} events not accepted, first: {refused[0]}")

    started = time.perf_counter()
    await asyncio.gather(*(post(b) for b in batches))
    return time.perf_counter() - started


def progress_probes(
    engines: dict[str, AsyncEngine], tenant: str, history: History
) -> dict[str, tuple[Callable[[], Awaitable[int]], int]]:
    """What "applied" means in each service, as (probe, expected count)."""

    def count(service: str, query: Any) -> Callable[[], Awaitable[int]]:
        async def probe() -> int:
            async with engines[service].connect() as conn:
                return int(await conn.scalar(query) or 0)

        return probe

    purchases = [e for e in history.events if e["type"] == "purchase.completed"]
    buyers = len({e["customer"]["external_id"] for e in purchases})
    orders = select(func.count()).where(lifecycle_purchase.c.tenant_id == tenant)
    orders_360 = select(func.sum(customer_view.c.orders)).where(customer_view.c.tenant_id == tenant)
    return {
        "lifecycle orders": (count("lifecycle", orders), history.orders),
        "lifecycle funnel": (
            count("lifecycle", select(func.count()).where(customer_state.c.tenant_id == tenant)),
            buyers,
        ),
        "profile 360 orders": (count("profile", orders_360), history.orders),
        "loyalty earnings": (
            count(
                "loyalty",
                select(func.count()).where(
                    ledger_entry.c.tenant_id == tenant,
                    ledger_entry.c.kind == "earn",
                    ledger_entry.c.ref.like("order:%"),
                ),
            ),
            history.orders,
        ),
        "feedback complaints": (
            count("feedback", select(func.count()).where(complaint.c.tenant_id == tenant)),
            history.complaints,
        ),
    }


async def wait_applied(
    probes: dict[str, tuple[Callable[[], Awaitable[int]], int]], started: float, limit: float
) -> dict[str, float]:
    """Poll every probe until it reaches its count; when each got there (seconds from start)."""
    done: dict[str, float] = {}
    while len(done) < len(probes):
        for name, (probe, expected) in probes.items():
            if name not in done and await probe() >= expected:
                done[name] = time.perf_counter() - started
        if time.perf_counter() - started > limit:
            missing = {n: f"{await p()}/{e}" for n, (p, e) in probes.items() if n not in done}
            raise TimeoutError(f"not applied after {limit:.0f} s: {missing}")
        await asyncio.sleep(1.0)  # the probes are COUNTs: polled often, they load the databases
    return done


async def main(arguments: argparse.Namespace) -> None:
    settings = ServiceSettings()
    history = generate(arguments.customers, datetime.now(UTC), seed=arguments.seed)
    print(f"history: {history.counts()}")
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    engines = {
        name: create_engine(ServiceSettings(service=name).db_url)
        for name in ("gateway", "profile", "lifecycle", "loyalty", "feedback")
    }
    stack = Stack.of_local_topology()
    client = await tenant_client(settings, tenant)
    try:
        probes = progress_probes(engines, tenant, history)
        if arguments.statements:
            await statements.reset(engines)
        async with stack.measuring() as usage:
            started = time.perf_counter()
            accepted = await post_all(client, history, arguments.concurrency)
            # Probed only once all is posted: the probes' COUNTs would load the databases.
            done = (
                {}
                if arguments.accept_only
                else await wait_applied(probes, started, arguments.timeout)
            )
        elapsed = max(done.values(), default=accepted)
        if arguments.statements:
            sql = await statements.report(engines, len(history.events), arguments.statements)
    finally:
        await client.aclose()
        for engine in engines.values():
            await engine.dispose()
    events = len(history.events)
    print(f"gateway accepted {events} events in {accepted:.1f} s: {events / accepted:,.0f}/s")
    if not arguments.accept_only:
        print(
            f"applied everywhere after {elapsed:.1f} s: {events / elapsed:,.0f} events/s end to end"
        )
    for name, at in sorted(done.items(), key=lambda item: item[1]):
        print(f"  {name:<20} complete at {at:6.1f} s")
    print(usage.report(events))
    if arguments.statements:
        print(sql)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=23_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--accept-only",
        action="store_true",
        help="time the gateway's acceptance only, with the consumers' services stopped; their "
        "backlog then delays every later run: discard the topology after (make down; rm -rf .data)",
    )
    parser.add_argument(
        "--statements", type=int, default=0, help="print each database's top N statements"
    )
    asyncio.run(main(parser.parse_args()))
