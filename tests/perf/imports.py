"""Import rate: one CSV file of N customers through ``POST /v1/imports``, on ``make up``.

    .venv/bin/python -m tests.perf.imports [--rows 2000]

Makes a fresh tenant (an admin key made with the bootstrap key) with two declared
attributes, writes N rows (source, external_id, name, email, plan, score), uploads them,
and follows the job until every row is read, then the tenant's export until every row is
a customer in the 360 (profile has applied it). Prints the upload's seconds, rows/s at the
gateway (upload to the job done) and end to end (upload to the last row in the 360). The
issue's figure is ``--rows 100000`` (the default file limit, ~6 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path

import httpx

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {"attributes": {"plan": {"type": "string"}, "score": {"type": "number"}}}


def csv_file(rows: int, run: str) -> bytes:
    lines = ["source,external_id,name,email,plan,score"]
    lines += [
        f"perf,I{n},Import {run} {n},i{n}.{run}@example.com,{('gold', 'silver')[n % 2]},{n % 100}"
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


async def tenant_key(client: httpx.AsyncClient, tenant: str) -> str:
    body = {"name": "perf", "partner": "perf", "scopes": ["admin"], "tenant_id": tenant}
    created = await client.post("/v1/admin/api-keys", json=body)
    created.raise_for_status()
    return str(created.json()["api_key"])


async def in_the_360(client: httpx.AsyncClient) -> int:
    """Customers of the tenant profile holds, counted from its streamed export."""
    count = 0
    async with client.stream("GET", "/v1/profile/export", timeout=300) as answer:
        answer.raise_for_status()
        async for line in answer.aiter_lines():
            count += bool(line.strip())
    return count


async def main(arguments: argparse.Namespace) -> None:
    settings = ServiceSettings()
    url = f"http://127.0.0.1:{settings.gateway_port}"
    bootstrap = (ROOT / ".data" / "bootstrap-api-key").read_text().strip()
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {bootstrap}"}, timeout=120
    ) as operator:
        key = await tenant_key(operator, f"perf-imports-{run}")
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120
    ) as client:
        (await client.put("/v1/profile/attributes", json=SCHEMA)).raise_for_status()
        body = csv_file(arguments.rows, run)
        started = time.perf_counter()
        answer = await client.post(
            "/v1/imports", content=body, headers={"content-type": "text/csv"}
        )
        answer.raise_for_status()
        uploaded = time.perf_counter() - started
        job = answer.json()
        while job["state"] not in ("done", "failed"):
            await asyncio.sleep(0.5)
            job = (await client.get(answer.headers["location"])).json()
        read = time.perf_counter() - started
        assert job["state"] == "done" and job["accepted"] == arguments.rows, job
        pause = max(1.0, arguments.rows / 20_000)
        while True:
            if await in_the_360(client) >= arguments.rows:
                break
            await asyncio.sleep(pause)
        settled = time.perf_counter() - started
    size = len(body) / 1e6
    print(f"rows: {arguments.rows:,} ({size:.1f} MB)")
    print(f"upload answered (202): {uploaded:.2f} s")
    print(f"job done at the gateway: {read:.1f} s, {arguments.rows / read:,.0f} rows/s")
    print(f"every row in the 360: {settled:.1f} s, {arguments.rows / settled:,.0f} rows/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000)
    asyncio.run(main(parser.parse_args()))
