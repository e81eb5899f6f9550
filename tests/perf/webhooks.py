"""Webhook delivery rate and commit-to-delivery latency, on the real PostgreSQL and Kafka
of ``make infra`` (topics and a database of its own, dropped after), to a receiver on a
local port.

    .venv/bin/python -m tests.perf.webhooks [--events 2000] [--rate 0] [--batch 50]

A gateway runs in-process with one subscription to ``*``. Stage changes are committed
through the gateway's own outbox (``--batch`` per transaction; ``--rate`` events/s, or
0: as fast as the database takes them), and travel the real path: relay → Kafka → the
``gateway-webhooks`` group records deliveries → the sender posts them, signed. Prints
deliveries per second (first commit → last arrival) and p50/p95/p99 of commit → arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid

from pydantic import SecretStr

from services.gateway.keys import DEFAULT_TENANT
from shared.auth import new_api_key
from shared.settings import ServiceSettings
from tests.integration.receiver import receiving
from tests.integration.services import Infra, create_database, drop_database, run_service
from tests.integration.test_gateway_webhooks import stage_change


async def main(events: int, rate: float, batch: int) -> None:
    run = uuid.uuid4().hex[:8]
    infra = Infra(ServiceSettings(), f"perf{run}.", f"perf{run}")
    topics = await asyncio.create_subprocess_exec(
        sys.executable, "deploy/local/topics.py", "--prefix", infra.prefix
    )
    assert await topics.wait() == 0
    await create_database(infra, "gateway")
    operator, tenant = new_api_key(), DEFAULT_TENANT  # the bootstrap key's
    try:
        async with (
            receiving() as receiver,
            run_service(
                infra,
                "gateway",
                tenant=tenant,
                bootstrap_api_key=SecretStr(operator),
                signing_master_key=SecretStr("p" * 40),
                webhook_allowed_hosts="127.0.0.1",
                rate_limit_per_second=1e6,
            ) as gw,
        ):
            auth = {"Authorization": f"Bearer {operator}"}
            body = {"url": receiver.url, "event_types": ["*"]}
            assert (await gw.client.post("/v1/webhooks", json=body, headers=auth)).is_success
            await asyncio.sleep(3)  # the consumer group joins
            committed = await _commit(gw.runtime.db, tenant, events, rate, batch)
            got = await receiver.wait_for(events, within=600)
    finally:
        await drop_database(infra, "gateway")
    _report(committed, {r.headers["webhook-id"]: r.at for r in got}, events)


async def _commit(
    db: object, tenant: str, events: int, rate: float, batch: int
) -> dict[str, float]:
    """Each event's id and when its transaction committed."""
    committed: dict[str, float] = {}
    started = time.monotonic()
    for first in range(0, events, batch):
        made = [stage_change(tenant) for _ in range(min(batch, events - first))]
        async with db.unit_of_work() as uow:  # type: ignore[attr-defined]
            uow.publish(*made)
            await uow.commit()
        now = time.time()
        committed.update((str(e.id), now) for e in made)
        if rate > 0:
            await asyncio.sleep(max(0.0, started + (first + batch) / rate - time.monotonic()))
    return committed


def _report(committed: dict[str, float], arrived: dict[str, float], events: int) -> None:
    latencies = sorted(arrived[i] - at for i, at in committed.items())
    span = max(arrived.values()) - min(committed.values())
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{events} deliveries in {span:.2f} s: {events / span:.0f} deliveries/s; "
        f"commit → delivery p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, "
        f"p99 {cuts[98] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0.0, help="events/s; 0: unpaced")
    parser.add_argument("--batch", type=int, default=50)
    options = parser.parse_args()
    asyncio.run(main(options.events, options.rate, options.batch))
