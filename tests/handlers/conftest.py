"""Fixtures of the fast tier: each service's schema migrated once per session, and a
bench per test on a copy of it (``tests/handlers/bench.py``). Nothing here needs
PostgreSQL or Kafka."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.handlers.bench import Bench, migrated_template, running_bench

CONSUMING = ("profile", "lifecycle", "feedback", "loyalty", "gateway")
BenchFactory = Callable[..., Awaitable[Bench]]


@pytest.fixture(scope="session")
async def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every consuming service's database, migrated by its own revisions, once."""
    folder = tmp_path_factory.mktemp("templates")
    return {name: await migrated_template(name, folder) for name in CONSUMING}


@pytest.fixture
async def bench_of(templates: dict[str, Path], tmp_path: Path) -> AsyncIterator[BenchFactory]:
    """``await bench_of("loyalty", **settings)``: a bench on a fresh copy of the service's
    database, closed when the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(name: str, **settings: Any) -> Bench:
            return await stack.enter_async_context(
                running_bench(name, templates[name], tmp_path, **settings)
            )

        yield make
