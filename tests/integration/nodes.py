"""The test side of ``tests.integration.replica_node``: start a node, read what it applied,
stop it gracefully or kill it; and what Kafka says of a consumer group's members."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from shared import topics
from tests.integration.replica_node import SERVICES

ROOT = Path(__file__).resolve().parents[2]


class Node:
    """A replica_node process and what it last said it applied."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name, self.process, self.log = name, process, log
        self.applied: dict[str, int] = {}
        self.stopped = False
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, prefix: str, run: str, name: str, logs: Path, services: Iterable[str] = SERVICES
    ) -> Node:
        """Start node ``name`` with a replica of each of ``services`` (its stderr in ``logs``)."""
        log = logs / f"node-{name}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.integration.replica_node", prefix, run, name,
                "--services", ",".join(services), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )  # fmt: skip
        return cls(name, process, log)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                said = json.loads(line)
                if isinstance(said, dict) and said.get("node") == self.name:
                    self.applied = said.get("applied", self.applied)
                    self.stopped = self.stopped or bool(said.get("stopped"))

    async def ready(self, groups: Iterable[str]) -> None:
        """Wait until the node runs a consumer of each of ``groups``."""
        wanted = set(groups)
        # A node migrates and joins its groups in seconds; on a crowded machine, minutes.
        await until(lambda: wanted <= set(self.applied) or self.process.returncode is not None, 180)
        assert self.process.returncode is None, self.log.read_text()[-3000:]

    async def stop(self) -> None:
        """SIGTERM: the node stops its consumers and jobs at a batch boundary and exits 0."""
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await self.process.wait() == 0, self.log.read_text()[-3000:]
        await self._reader
        assert self.stopped

    async def kill(self) -> None:
        """SIGKILL: no goodbye to Kafka or PostgreSQL."""
        self.process.kill()
        assert await self.process.wait() == -signal.SIGKILL
        self._reader.cancel()

    async def end(self) -> None:
        """Kill the node if it still runs (a test's cleanup)."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()


async def until(condition: Callable[[], object], within: float = 120.0) -> None:
    """Poll ``condition`` (a value or an awaitable of one) until it is true."""
    async with asyncio.timeout(within):
        while True:
            value = condition()
            if isinstance(value, Awaitable):
                value = await value
            if value:
                return
            await asyncio.sleep(0.2)


async def assignments(servers: str, group: str) -> list[set[int]]:
    """The partitions each member of ``group`` holds, one set per member (none while the
    group rebalances)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        (answer,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    (described,) = answer.groups
    if described[2] != "Stable":  # (error, group, state, protocol type, protocol, members)
        return []
    held = []
    for member in described[5]:  # (id, client id, host, metadata, assignment)
        assignment = ConsumerProtocolMemberAssignment.decode(member[4])
        held.append({p for _, partitions in assignment.assignment for p in partitions})
    return held


async def members_hold_all(
    servers: str, prefix: str, groups: Mapping[str, str], count: int
) -> bool:
    """Whether each of ``groups`` (group: its topic) has ``count`` members that share all
    of the topic's partitions."""
    for group, topic in groups.items():
        held = await assignments(servers, prefix + group)
        if len(held) != count or set().union(*held) != set(range(topics.PARTITIONS[topic])):
            return False
    return True
