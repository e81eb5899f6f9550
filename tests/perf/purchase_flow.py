"""Benchmark of the walking skeleton on the local topology (``make up``).

    .venv/bin/python tests/perf/purchase_flow.py [--latency-runs 20] [--events 5000]

Prints two figures:
- end-to-end latency of one purchase: from POST /v1/events until the customer
  360 shows stage new_customer with points (median, p90, max over N runs);
- end-to-end throughput: N purchases of N new customers posted through
  /v1/events/batch (500 a request), until every one of them shows in the 360
  with its stage and points (read from profile's database, to not load the API).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from services.profile.tables import customer_view, identity
from shared.db import create_engine
from shared.settings import ServiceSettings
from tests.perf.stack import local_data_dir


def purchase(source: str, n: int) -> dict[str, Any]:
    return {
        "id": f"{source}-{n}",
        "type": "purchase.completed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": source, "external_id": f"C{n}"},
        "data": {
            "order_id": f"{source}-O{n}",
            "amount_minor": 129900,
            "currency": "CNY",
            "channel": "web",
        },
    }


async def one_latency(client: httpx.AsyncClient, source: str, n: int) -> float:
    started = time.perf_counter()
    (await client.post("/v1/events", json=purchase(source, n))).raise_for_status()
    while True:
        found = await client.get(
            "/v1/customers/lookup", params={"source": source, "external_id": f"C{n}"}
        )
        if found.status_code == 200:
            view = (await client.get(f"/v1/customers/{found.json()['customer_id']}")).json()
            if view["stage"] == "new_customer" and view["loyalty"]["points_balance"] > 0:
                return time.perf_counter() - started
        if time.perf_counter() - started > 30:
            raise TimeoutError("a purchase did not come through within 30 s")
        await asyncio.sleep(0.005)


async def latency(client: httpx.AsyncClient, runs: int) -> None:
    source = f"lat{uuid.uuid4().hex[:6]}"
    await one_latency(client, source, -1)  # warm-up: connections, consumer fetch sessions
    samples = sorted([await one_latency(client, source, n) for n in range(runs)])
    p90 = samples[int(0.9 * (len(samples) - 1))]
    print(
        f"latency of one purchase, POST → 360 shows new_customer with points ({runs} runs): "
        f"median {statistics.median(samples) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, "
        f"max {samples[-1] * 1000:.0f} ms"
    )


async def done_count(engine: Any, source: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count())
                .select_from(
                    identity.join(
                        customer_view, customer_view.c.customer_id == identity.c.customer_id
                    )
                )
                .where(
                    identity.c.kind == f"ref:{source}",
                    customer_view.c.stage == "new_customer",
                    customer_view.c.points_balance > 0,
                )
            )
        )


async def throughput(client: httpx.AsyncClient, total: int) -> None:
    source = f"tp{uuid.uuid4().hex[:6]}"
    engine = create_engine(ServiceSettings(service="profile").db_url)
    batches = [
        [purchase(source, n) for n in range(i, min(i + 500, total))] for i in range(0, total, 500)
    ]
    started = time.perf_counter()
    for batch in batches:
        answer = await client.post("/v1/events/batch", json={"events": batch})
        answer.raise_for_status()
        assert {r["status"] for r in answer.json()["results"]} == {"accepted"}
    accepted = time.perf_counter() - started
    while (count := await done_count(engine, source)) < total:
        if time.perf_counter() - started > 300:
            raise TimeoutError(f"only {count} of {total} came through in 300 s")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    print(
        f"throughput, {total} purchases of new customers via /v1/events/batch: "
        "gateway accepted all in "
        f"{accepted:.2f} s ({total / accepted:.0f}/s); all in the 360 with stage and points after "
        f"{elapsed:.2f} s → {total / elapsed:.0f} events/s end to end"
    )


async def main(arguments: argparse.Namespace) -> None:
    key = (local_data_dir() / "bootstrap-api-key").read_text().strip()
    settings = ServiceSettings()
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.gateway_port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    ) as client:
        await latency(client, arguments.latency_runs)
        await throughput(client, arguments.events)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--events", type=int, default=5000)
    asyncio.run(main(parser.parse_args()))
