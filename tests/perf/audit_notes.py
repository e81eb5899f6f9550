"""What noting a forwarded decision before asking costs, on the gateway's PostgreSQL
database of ``make infra`` (or ``make up``).

    .venv/bin/python -m tests.perf.audit_notes [--decisions 500]

Records N decisions the way the gateway did before (``audit.record`` after the answer)
and N the way it does now (``audit.forwarded``: the note, the answer, then the entry with
the note removed, in one transaction), with a service that answers at once, and prints
the time per decision of each: the difference is what a decision pays to be recorded
even if the gateway stops in between. Rows are written under a throwaway tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Response
from sqlalchemy import text

from services.gateway import audit
from services.gateway.keys import Principal
from services.gateway.tables import outbox
from shared.clock import SystemClock
from shared.db import create_engine
from shared.settings import ServiceSettings
from shared.uow import Database


async def answered() -> Response:
    return Response(b"{}", 201, media_type="application/json")


async def timed(n: int, decide: Callable[[int], Awaitable[object]]) -> list[float]:
    took = []
    for i in range(n):
        started = time.perf_counter()
        await decide(i)
        took.append((time.perf_counter() - started) * 1000)
    return took


def figures(name: str, took: list[float]) -> str:
    p90 = statistics.quantiles(took, n=10)[-1]
    return f"{name:<34} median {statistics.median(took):.2f} ms   p90 {p90:.2f} ms"


async def main(n: int) -> None:
    engine = create_engine(ServiceSettings(service="gateway").db_url)
    db = Database(engine, outbox, SystemClock())
    caller = Principal(uuid.uuid4(), f"perf-{uuid.uuid4().hex[:8]}", "perf", frozenset())
    after = {"points": 100, "reason": "gift"}

    def decision(i: int) -> audit.Decision:
        return audit.Decision("loyalty.redeemed", f"customer:{i}", after=after, dedupe=f"k{i}")

    async def before(i: int) -> None:
        if (await answered()).status_code in audit.ANSWERED:
            await audit.record(db, caller, decision(i))

    async def now(i: int) -> None:
        await audit.forwarded(db, caller, decision(n + i), answered)

    try:
        await timed(50, lambda i: audit.record(db, caller, decision(10 * n + i)))  # warm up
        old, new = await timed(n, before), await timed(n, now)
        async with engine.connect() as conn:
            left = await conn.scalar(text("SELECT count(*) FROM audit_pending"))
    finally:
        await engine.dispose()
    print(f"{n} decisions each, one at a time (notes left behind: {left})")
    print(figures("entry after the answer (before)", old))
    print(figures("note, answer, entry (now)", new))
    print(f"added per decision: {statistics.median(new) - statistics.median(old):.2f} ms (median)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=500)
    asyncio.run(main(parser.parse_args().decisions))
