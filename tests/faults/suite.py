"""The fault suite: the same partner events, delivered once calmly and once through crashes
of every part of the topology, must leave every customer in the same state.

    make up && .venv/bin/python -m tests.faults.suite [--customers 700] [--seed 11]

A seeded history (``tests/perf/history.py``: purchases, refunds, complaints and their
resolutions, survey answers) goes to two fresh tenants through the gateway of the
local topology. The calm tenant gets it in event-time order in one go. The faulted
tenant gets the same events, a share before the first fault and one as each strikes
(however long restarts take), while a seeded schedule (``chaos.py``) kills -9 each
service, kills -9 the broker and stops PostgreSQL in immediate mode, restarting each;
the partner behaves like a real one: it retries what failed or timed out, and
re-sends a tenth of the batches that did succeed.
When both tenants are settled, every customer's 360, stage history, loyalty
account, ledger and complaints are read through the gateway and compared.

``make test-faults`` runs it (``tests/faults/run_faults.py``); CI does too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import column, func, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.settings import ServiceSettings
from tests.faults import chaos, snapshot
from tests.perf.history import History, generate
from tests.perf.replay import progress_probes, tenant_client, wait_applied

ENGINES = ("gateway", "profile", "lifecycle", "loyalty", "feedback")
RETRIED = (429, 500, 502, 503, 504)


@dataclass
class Partner:
    """Posts batches the way a partner's integration does: retries, and sometimes twice."""

    client: httpx.AsyncClient
    rng: random.Random
    resend: float = 0.0
    retries: int = 0
    resent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    async def deliver(self, events: list[dict[str, Any]], batch: int, seconds: float) -> None:
        batches = [events[i : i + batch] for i in range(0, len(events), batch)]
        pause = seconds / max(1, len(batches))
        for chunk in batches:
            await self.post(chunk)
            if self.rng.random() < self.resend:
                self.resent += 1
                await self.post(chunk)
            await asyncio.sleep(pause)

    async def deliver_through(
        self, events: list[dict[str, Any]], batch: int, storm: chaos.Chaos, faults: int
    ) -> None:
        """A share of the batches before the first fault, and one as each fault strikes,
        however long the restarts take: every fault meets events in flight."""
        batches = [events[i : i + batch] for i in range(0, len(events), batch)]
        share = -(-len(batches) // (faults + 1))
        for k in range(faults + 1):
            await storm.crashed(k)
            for chunk in batches[k * share : (k + 1) * share]:
                await self.post(chunk)
                if self.rng.random() < self.resend:
                    self.resent += 1
                    await self.post(chunk)

    async def post(self, chunk: list[dict[str, Any]], patience: float = 300) -> None:
        deadline = time.perf_counter() + patience
        while True:
            try:
                answer = await self.client.post("/v1/events/batch", json={"events": chunk})
                if answer.status_code not in RETRIED:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(f"a batch was not accepted within {patience:.0f} s")
            self.retries += 1
            await asyncio.sleep(1.0)
        answer.raise_for_status()
        for result in answer.json()["results"]:
            self.outcomes[result["status"]] = self.outcomes.get(result["status"], 0) + 1
            if result["status"] == "rejected":
                raise AssertionError(f"the gateway rejected a valid event: {result}")


@dataclass
class Run:
    """A tenant fed the history, and what happened on the way."""

    tenant: str
    seconds: float = 0.0
    partner: Partner | None = None
    faults: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    history: History
    calm: Run
    faulted: Run
    differing: dict[tuple[str, str], list[str]]

    def report(self) -> str:
        customers = self.history.customers
        share = len(self.differing) / customers
        partner = self.faulted.partner
        assert partner is not None
        lines = [
            f"history: {self.history.counts()}",
            f"calm run: applied everywhere in {self.calm.seconds:.1f} s",
            f"faulted run: applied everywhere in {self.faulted.seconds:.1f} s, "
            f"{len(self.faulted.faults)} faults, {partner.retries} partner retries, "
            f"{partner.resent} batches sent twice, outcomes {partner.outcomes}",
            *(f"    {line}" for line in self.faulted.faults),
            f"customers differing: {len(self.differing)} of {customers} ({share:.1%})",
        ]
        tally: dict[str, int] = {}
        for why in self.differing.values():
            for line in why:
                read = line.split(":", 1)[0]
                tally[read] = tally.get(read, 0) + 1
        if tally:
            lines.append("  differing reads: " + ", ".join(f"{r} {n}" for r, n in tally.items()))
        for ref, why in list(self.differing.items())[:5]:
            lines.append(f"  {ref}: " + "; ".join(why))
        return "\n".join(lines)


async def settle(engines: dict[str, AsyncEngine], tenant: str, history: History) -> float:
    """Seconds until every service has applied the tenant's history and every outbox is empty."""
    started = time.perf_counter()
    await wait_applied(progress_probes(engines, tenant, history), started, limit=600)
    quiet = 0
    while quiet < 3:  # three empty looks a second apart: nothing left in flight
        quiet = quiet + 1 if await _outboxes_empty(engines) else 0
        await asyncio.sleep(1.0)
    return time.perf_counter() - started


async def _outboxes_empty(engines: dict[str, AsyncEngine]) -> bool:
    for engine in engines.values():
        async with engine.connect() as conn:
            rows = await conn.scalar(select(func.count()).select_from(_outbox()))
        if rows:
            return False
    return True


def _outbox() -> Any:
    return table("outbox", column("id"))


async def run(customers: int, seed: int, faults: int) -> Outcome:
    settings = ServiceSettings()
    history = generate(customers, datetime.now(UTC), seed=seed)
    engines = {name: create_engine(ServiceSettings(service=name).db_url) for name in ENGINES}
    tag = uuid.uuid4().hex[:6]
    calm, faulted = Run(f"calm-{tag}"), Run(f"faults-{tag}")
    try:
        calm.seconds = await _calm(settings, engines, calm, history)
        faulted.seconds = await _faulted(settings, engines, faulted, history, seed, faults)
        differing = await _compare(settings, history, calm, faulted)
    finally:
        await chaos.heal()
        for engine in engines.values():
            await engine.dispose()
    return Outcome(history, calm, faulted, differing)


async def _calm(
    settings: ServiceSettings, engines: dict[str, AsyncEngine], run: Run, history: History
) -> float:
    async with await tenant_client(settings, run.tenant) as client:
        run.partner = Partner(client, random.Random(0))
        await run.partner.deliver(history.events, batch=500, seconds=0)
    return await settle(engines, run.tenant, history)


async def _faulted(
    settings: ServiceSettings,
    engines: dict[str, AsyncEngine],
    run: Run,
    history: History,
    seed: int,
    faults: int,
) -> float:
    schedule = chaos.schedule(seed, faults)
    chaotic = chaos.Chaos()
    async with await tenant_client(settings, run.tenant) as client:
        run.partner = Partner(client, random.Random(seed), resend=0.1)
        storm = asyncio.create_task(chaotic.run(schedule))
        delivery = asyncio.create_task(
            run.partner.deliver_through(history.events, 25, chaotic, len(schedule))
        )
        try:
            # The partner waits for each fault: a storm that failed (a restart that never
            # came up) must fail the run with its reason, not leave the partner waiting.
            await asyncio.wait({storm, delivery}, return_when=asyncio.FIRST_EXCEPTION)
            for task in (storm, delivery):
                if task.done():
                    task.result()
            await delivery
            await storm
        finally:
            storm.cancel()
            delivery.cancel()
            run.faults = chaotic.log
    await chaos.heal()
    return await settle(engines, run.tenant, history)


async def _compare(
    settings: ServiceSettings, history: History, calm: Run, faulted: Run
) -> dict[tuple[str, str], list[str]]:
    refs = sorted({(e["customer"]["source"], e["customer"]["external_id"]) for e in history.events})
    async with (
        await tenant_client(settings, calm.tenant) as calm_client,
        await tenant_client(settings, faulted.tenant) as faulted_client,
    ):
        expected = await snapshot.everyone(calm_client, refs)
        actual = await snapshot.everyone(faulted_client, refs)
    return snapshot.differences(expected, actual)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=700)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--faults", type=int, default=10)
    arguments = vars(parser.parse_args())
    outcome = asyncio.run(run(**arguments))
    print(outcome.report())
    raise SystemExit(1 if outcome.differing else 0)


if __name__ == "__main__":
    main()
