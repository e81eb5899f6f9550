"""Time from an erasure request to the last service's confirmation, on ``make up``.

    .venv/bin/python -m tests.perf.erasure [--customers 10]

Makes N customers (a purchase and a complaint each, so every service holds something),
then erases them one at a time: ``DELETE /v1/customers/{id}`` and polls the job until
every service has confirmed. Prints, over the N erasures, the job's own figure (profile's
request time to the last confirmation's, as the services' clocks say) and the client's
(the DELETE sent to the job read as ``erased``): median, p90, max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def events(source: str, n: int) -> list[dict[str, Any]]:
    customer = {"source": source, "external_id": f"C{n}", "name": f"Perf {n}"}
    at = datetime.now(UTC).isoformat()
    return [
        {
            "id": f"{source}-p{n}", "type": "purchase.completed", "occurred_at": at,
            "customer": customer,
            "data": {"order_id": f"O{n}", "amount_minor": 1000, "currency": "CNY",
                     "channel": "web"},
        },
        {
            "id": f"{source}-c{n}", "type": "complaint.filed", "occurred_at": at,
            "customer": customer,
            "data": {"complaint_ref": f"{source}-T{n}", "severity": "low", "category": "delivery",
                     "channel": "web", "text": "lost parcel"},
        },
    ]  # fmt: skip


async def known(client: httpx.AsyncClient, source: str, n: int) -> str:
    """The customer once profile, lifecycle, loyalty and feedback all hold them."""
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        found = await client.get(
            "/v1/customers/lookup", params={"source": source, "external_id": f"C{n}"}
        )
        if found.status_code == 200:
            customer = found.json()["customer_id"]
            view = (await client.get(f"/v1/customers/{customer}")).json()
            if view["stats"]["orders"] == 1 and view["feedback"]["open_complaints"] == 1:
                return str(customer)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"customer C{n} did not settle within 60 s")


async def erase(client: httpx.AsyncClient, customer: str) -> tuple[float, float]:
    """The job's seconds to the last confirmation, and the client's."""
    started = time.perf_counter()
    answer = await client.delete(f"/v1/customers/{customer}", params={"reason": "perf"})
    answer.raise_for_status()
    location = answer.headers["location"]
    while time.perf_counter() - started < 60:
        job = (await client.get(location)).json()
        if job["status"] == "erased":
            return float(job["seconds"]), time.perf_counter() - started
        await asyncio.sleep(0.02)
    raise RuntimeError(f"erasure of {customer} not confirmed within 60 s")


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered):.3f} s, p90 {p90:.3f} s, max {ordered[-1]:.3f} s"


async def main(arguments: argparse.Namespace) -> None:
    key = (ROOT / ".data" / "bootstrap-api-key").read_text().strip()
    settings = ServiceSettings()
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.gateway_port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ) as client:
        source = f"er{uuid.uuid4().hex[:6]}"
        batch = [e for n in range(arguments.customers) for e in events(source, n)]
        (await client.post("/v1/events/batch", json={"events": batch})).raise_for_status()
        customers = [await known(client, source, n) for n in range(arguments.customers)]
        measured = [await erase(client, c) for c in customers]
    print(f"erasures: {len(measured)}")
    print(f"request → last confirmation (job): {figures([m[0] for m in measured])}")
    print(f"DELETE → job read as erased (client): {figures([m[1] for m in measured])}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
