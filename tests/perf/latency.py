"""Latency under load: purchases posted open-loop at a fixed rate on ``make up``.

    .venv/bin/python -m tests.perf.latency --rate 1000 [--seconds 30]

Every 20 ms, whatever the answers so far, a batch of ``rate / 50`` purchases of
new customers goes to ``/v1/events/batch`` (open loop: a slow pipeline does not
slow the generator, so queueing shows in the figures). Once all are applied, each
customer's 360 is read: its ``updated_at`` is when profile folded the last of the
purchase's consequences (stage and points), on the same clock as the send time.
Prints p50, p90, p99 and max of POST → 360 complete, and the rate achieved.
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

from shared.settings import ServiceSettings
from tests.perf.replay import tenant_client

TICK = 0.02


def purchase(run: str, n: int) -> dict[str, Any]:
    return {
        "id": f"{run}-{n}",
        "type": "purchase.completed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"source": "shop", "external_id": f"{run}-C{n}"},
        "data": {"order_id": f"O{n}", "amount_minor": 19900, "currency": "CNY", "channel": "web"},
    }


async def generate(client: httpx.AsyncClient, run: str, rate: int, seconds: float) -> list[float]:
    """Post open-loop; the wall-clock send time of each purchase, by number."""
    per_tick = max(1, round(rate * TICK))
    sent: list[float] = []
    posts: list[asyncio.Task[httpx.Response]] = []
    started = time.perf_counter()
    for tick in range(int(seconds / TICK)):
        await asyncio.sleep(max(0.0, started + tick * TICK - time.perf_counter()))
        batch = [purchase(run, len(sent) + k) for k in range(per_tick)]
        sent.extend([time.time()] * per_tick)
        posts.append(asyncio.create_task(client.post("/v1/events/batch", json={"events": batch})))
    for answer in await asyncio.gather(*posts):
        answer.raise_for_status()
    return sent


async def settled_at(client: httpx.AsyncClient, run: str, n: int) -> float | None:
    params = {"source": "shop", "external_id": f"{run}-C{n}"}
    found = await client.get("/v1/customers/lookup", params=params)
    if found.status_code != 200:  # not yet known, or 429: read it again later
        return None
    answer = await client.get(f"/v1/customers/{found.json()['customer_id']}")
    if answer.status_code != 200:  # 429 past the key's rate limit: read it again later
        return None
    view = answer.json()
    if view["stage"] is None or view["loyalty"]["points_balance"] <= 0:
        return None
    return datetime.fromisoformat(view["updated_at"]).timestamp()


async def latencies(client: httpx.AsyncClient, run: str, sent: list[float]) -> list[float]:
    pending, found = set(range(len(sent))), {}
    deadline = time.monotonic() + 300
    while pending and time.monotonic() < deadline:
        for chunk in _chunks(sorted(pending), 32):
            answers = await asyncio.gather(*(settled_at(client, run, n) for n in chunk))
            for n, at in zip(chunk, answers, strict=True):
                if at is not None:
                    found[n] = at - sent[n]
                    pending.discard(n)
        if pending:
            await asyncio.sleep(1)
    if pending:
        raise TimeoutError(f"{len(pending)} purchases never settled")
    return sorted(found.values())


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def main(arguments: argparse.Namespace) -> None:
    run = f"lat{uuid.uuid4().hex[:6]}"
    client = await tenant_client(ServiceSettings(), f"bench-{run}")
    try:
        sent = await generate(client, run, arguments.rate, arguments.seconds)
        samples = await latencies(client, run, sent)
    finally:
        await client.aclose()

    def pct(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))] * 1000

    achieved = len(sent) / (sent[-1] - sent[0]) if len(sent) > 1 else 0.0
    print(
        f"{len(samples)} purchases at {achieved:,.0f}/s (asked {arguments.rate}/s), "
        f"POST → 360 with stage and points: p50 {statistics.median(samples) * 1000:.0f} ms, "
        f"p90 {pct(0.9):.0f} ms, p99 {pct(0.99):.0f} ms, max {samples[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    asyncio.run(main(parser.parse_args()))
