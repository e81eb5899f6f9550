"""A consumer that dies after its database commit and before its offset commit:
Kafka redelivers the batch, and the inbox makes the second pass a no-op."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from shared import topics
from shared.bus.kafka import KafkaBus
from shared.consumer import Consumer
from tests.integration.conftest import (
    ROOT,
    about,
    committed_past,
    counter_value,
    eventually,
    inbox_rows,
    publish_events,
    running,
)
from tests.integration.harness import counting, purchase


async def test_a_consumer_killed_after_its_database_commit_reprocesses_without_double_effect(
    bus: KafkaBus,
    engine: AsyncEngine,
    consumers: Callable[..., Consumer],
    database_url: str,
    servers: str,
    prefix: str,
    group: str,
    tenant: str,
    customer: str,
) -> None:
    events = [purchase(customer, tenant) for _ in range(3)]
    await publish_events(bus, *events)
    ours = await about(servers, prefix, topics.ACTIVITY, customer)

    helper = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.crashing_consumer",
        database_url,
        servers,
        prefix,
        group,
        customer,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _line(helper.stderr, b"db-committed\n")  # type: ignore[arg-type]
        assert await counter_value(engine, customer) == 3
    finally:
        with contextlib.suppress(ProcessLookupError):
            helper.kill()
        await helper.wait()
    assert helper.returncode == -signal.SIGKILL
    assert not await committed_past(servers, prefix + group, ours)

    # Kafka holds the killed member's partitions until its session times out (10 s).
    async with running(consumers(counting(group))) as consumer:
        await eventually(
            lambda: committed_past(servers, prefix + group, ours), within=40, watching=consumer
        )

    assert await counter_value(engine, customer) == 3
    assert await inbox_rows(engine, group, events) == 3


async def _line(stream: asyncio.StreamReader, wanted: bytes) -> None:
    """Read ``stream`` up to the line ``wanted`` (the helper may log there too)."""
    async with asyncio.timeout(20):
        while (line := await stream.readline()) != wanted:
            assert line, f"the helper exited before printing {wanted!r}"
