"""CPU and memory of the local topology's processes, read from /proc while a benchmark runs.

CPU is user + system time, children included (PostgreSQL's backends are children
of the postmaster: live ones are read directly, exited ones are in its
``cutime``). Memory is PSS (proportional set size), so PostgreSQL's shared
buffers are counted once however many backends map them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "profile", "lifecycle", "loyalty", "feedback")
TICKS = os.sysconf("SC_CLK_TCK")


def local_data_dir() -> Path:
    """The local topology's data directory: ``CRM_DATA_DIR`` as its scripts read it."""
    return Path(os.environ.get("CRM_DATA_DIR", ROOT / ".data"))


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd on


def _cpu_seconds(pid: int, children: bool) -> float:
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def _children_of(parents: set[int]) -> dict[int, list[int]]:
    """The live children of each of ``parents``, from one pass over /proc."""
    found: dict[int, list[int]] = {parent: [] for parent in parents}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int(_stat(int(entry.name))[1])
                if parent in found:
                    found[parent].append(int(entry.name))
    return found


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


@dataclass
class Usage:
    cpu: dict[str, float] = field(default_factory=dict)
    peak_pss_kib: int = 0

    def report(self, events: int) -> str:
        total = sum(self.cpu.values())
        lines = [f"CPU: {total:.1f} s in all, {total / events * 1000:.2f} ms per event"]
        for name, seconds in sorted(self.cpu.items(), key=lambda item: -item[1]):
            lines.append(f"  {name:<10} {seconds:7.1f} s  {seconds / events * 1000:6.3f} ms/event")
        lines.append(f"peak memory of the whole stack (PSS): {self.peak_pss_kib / 1024:,.0f} MiB")
        return "\n".join(lines)


@dataclass(frozen=True)
class Stack:
    """The processes of ``make up``: name → pid."""

    pids: dict[str, int]

    @classmethod
    def of_local_topology(cls, data_dir: Path | None = None) -> Stack:
        data = data_dir or local_data_dir()
        running = [name for name in SERVICES if (data / "run" / f"{name}.pid").exists()]
        pids = {name: int((data / "run" / f"{name}.pid").read_text()) for name in running}
        pids["kafka"] = int((data / "kafka" / "kafka.pid").read_text())
        postmaster = data / "postgres" / "pgdata" / "postmaster.pid"
        pids["postgres"] = int(postmaster.read_text().splitlines()[0])
        return cls(pids)

    def cpu(self) -> dict[str, float]:
        seconds = {}
        children = _children_of(set(self.pids.values()))
        for name, pid in self.pids.items():
            seconds[name] = _cpu_seconds(pid, children=True)
            # Live children too: PostgreSQL's backends, a service's worker processes.
            for child in children[pid]:
                with contextlib.suppress(OSError):
                    seconds[name] += _cpu_seconds(child, children=False)
        return seconds

    def pss_kib(self) -> int:
        children = _children_of(set(self.pids.values()))
        pids = list(self.pids.values()) + [c for found in children.values() for c in found]
        return sum(_pss_kib(pid) for pid in pids)

    @contextlib.asynccontextmanager
    async def measuring(self, every: float = 2.0) -> AsyncIterator[Usage]:
        """CPU used inside the block, and the peak memory sampled every ``every`` seconds."""
        usage = Usage()
        before = self.cpu()

        async def sample() -> None:
            while True:
                usage.peak_pss_kib = max(usage.peak_pss_kib, self.pss_kib())
                await asyncio.sleep(every)

        sampler = asyncio.create_task(sample())
        try:
            yield usage
        finally:
            sampler.cancel()
            after = self.cpu()
            usage.cpu = {name: after[name] - before[name] for name in self.pids}
