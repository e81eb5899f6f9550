"""Faults on the local topology, on a seeded schedule: kill -9 of each service, of the
broker, and PostgreSQL's immediate stop, each followed by its restart.

The schedule is a list of (delay, part) drawn from a seed, so a failing run can be
replayed exactly. Every part of the topology is hit at least once; restarts go
through the same scripts as ``make up`` (``deploy/local/*.sh start`` is idempotent:
it starts what is down and waits until it is ready). Nothing else restarts a
service here, as an orchestrator would, so the chaos task also heals whatever the
fault took down with it.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "profile", "lifecycle", "feedback", "loyalty")
PARTS = (*SERVICES, "kafka", "postgres")


@dataclass(frozen=True)
class Fault:
    after: float  # seconds after the previous fault was healed
    part: str
    down_for: float  # seconds between the crash and the restart


def schedule(seed: int, faults: int) -> list[Fault]:
    """``faults`` faults, every part at least once, in a seeded order."""
    rng = random.Random(seed)
    parts = list(PARTS) + [rng.choice(PARTS) for _ in range(max(0, faults - len(PARTS)))]
    rng.shuffle(parts)
    return [Fault(rng.uniform(2, 6), part, rng.uniform(0.2, 3)) for part in parts]


@dataclass
class Chaos:
    """Runs a schedule; keeps what it did, for the report."""

    log: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    crashes: int = 0
    struck: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def crashed(self, count: int) -> None:
        """Return once ``count`` faults have struck (the partner sends during each)."""
        async with self.struck:
            await self.struck.wait_for(lambda: self.crashes >= count)

    async def run(self, faults: list[Fault]) -> None:
        for fault in faults:
            await asyncio.sleep(fault.after)
            await self.crash(fault.part)
            await asyncio.sleep(fault.down_for)
            await heal()
            self.note(f"{fault.part} back after {fault.down_for:.1f} s down")

    async def crash(self, part: str) -> None:
        if part in SERVICES:
            await script("services", "crash", part)
        else:
            await script(part, "crash")
        self.note(f"{part} crashed")
        async with self.struck:
            self.crashes += 1
            self.struck.notify_all()

    def note(self, what: str) -> None:
        self.log.append(f"{time.perf_counter() - self.started:6.1f} s  {what}")


RESTARTS = 3  # tries per part, as an orchestrator keeps restarting what is down


async def heal() -> None:
    """Start whatever is down: PostgreSQL and Kafka first, then the services. A start
    that does not come up in its script's time (a loaded machine) is tried again; the
    last failure is raised with the script's output."""
    for name in ("postgres", "kafka", "services"):
        for attempt in range(1, RESTARTS + 1):
            try:
                await script(name, "start")
                break
            except RuntimeError:
                if attempt == RESTARTS:
                    raise
                await asyncio.sleep(2.0)


async def script(name: str, *arguments: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "deploy" / "local" / f"{name}.sh"),
        *arguments,
        cwd=ROOT,
        env={**os.environ, "CRM_QUIET_KEY": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        text = output.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{name}.sh {' '.join(arguments)} failed:\n{text}")
