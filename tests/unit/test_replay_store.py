"""Rule-replay jobs as rows (``shared.replay_store``), on SQLite migrated as each service
migrates: one running job per tenant and kind, refused by the database itself; a job
whose replica stopped beating reads as failed and frees the slot; finished jobs kept
bounded; and each service's migration creates the table as ``replays_table`` defines it."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, func, select
from sqlalchemy.exc import IntegrityError

from services.loyalty.tables import outbox, rule_replay
from shared.clock import FrozenClock
from shared.contracts.rules import RuleReplay
from shared.db import create_engine
from shared.migrations import migrate
from shared.replay_store import KEPT, KEPT_FOR, STALE_AFTER, Busy, ReplayStore
from shared.uow import Database

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ReplayStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'loyalty.db'}")
    await migrate(engine, "loyalty")
    try:
        yield ReplayStore(rule_replay, Database(engine, outbox, FrozenClock(T0)))
    finally:
        await engine.dispose()


def job(at: datetime = T0) -> RuleReplay:
    return RuleReplay(
        id=uuid.uuid4(), kind="loyalty", state="running", progress="starting",
        started_at=at, requested_by="api-key:k1",
    )  # fmt: skip


def clock(store: ReplayStore) -> FrozenClock:
    assert isinstance(store.db.clock, FrozenClock)
    return store.db.clock


async def test_one_running_job_per_tenant_and_kind(store: ReplayStore) -> None:
    first = await store.start("acme", job())
    with pytest.raises(Busy) as refused:
        await store.start("acme", job())
    other_tenant = await store.start("zeta", job())
    t = rule_replay
    async with store.db.engine.begin() as conn:  # the index itself, not a prior read
        with pytest.raises(IntegrityError):
            row = {**store._row(job()), "tenant_id": "acme", "heartbeat_at": T0}
            await conn.execute(t.insert(), [row])

    assert refused.value.job is not None and refused.value.job.id == first.id
    assert (await store.read("zeta", other_tenant.id)) == other_tenant
    assert await store.read("zeta", first.id) is None  # another tenant's job is not found


async def test_progress_then_the_end_are_read_back(store: ReplayStore) -> None:
    started = await store.start("acme", job())
    await store.beat(started.id, "folding: 10 of 20 events (50 %)", T0 + timedelta(seconds=1))
    running = await store.read("acme", started.id)
    ended = started.model_copy(
        update={"state": "failed", "error": "why", "finished_at": T0 + timedelta(seconds=2)}
    )
    await store.finish("acme", ended)
    again = await store.start("acme", job(T0 + timedelta(seconds=3)))  # the slot is free

    assert running is not None and running.progress == "folding: 10 of 20 events (50 %)"
    assert await store.read("acme", started.id) == ended
    assert again.state == "running"


async def test_a_stale_heartbeat_reads_as_failed_and_frees_the_slot(store: ReplayStore) -> None:
    lost = await store.start("acme", job())
    await store.beat(lost.id, "folding", T0 + timedelta(seconds=5))
    clock(store).move_to(T0 + timedelta(seconds=5) + STALE_AFTER - timedelta(seconds=1))
    alive = await store.read("acme", lost.id)
    later = T0 + timedelta(seconds=6) + STALE_AFTER
    clock(store).move_to(later)
    failed = await store.read("acme", lost.id)
    lost_again = await store.start("acme", job(later))
    clock(store).move_to(later + STALE_AFTER + timedelta(seconds=1))
    freed = await store.start("acme", job(later + STALE_AFTER + timedelta(seconds=1)))

    assert alive is not None and alive.state == "running"
    assert failed is not None and failed.state == "failed" and failed.finished_at == later
    assert (
        failed.error is not None and "stopped" in failed.error and "start it again" in failed.error
    )
    after = await store.read("acme", lost_again.id)  # failed by the POST that followed
    assert after is not None and after.state == "failed"
    assert freed.state == "running"


async def test_finished_jobs_are_kept_bounded(store: ReplayStore) -> None:
    old = await store.start("acme", job(T0 - KEPT_FOR - timedelta(days=1)))
    ended = old.model_copy(update={"state": "done", "progress": "done"})
    await store.finish("acme", ended)
    for n in range(KEPT + 3):
        at = T0 + timedelta(minutes=n)
        started = await store.start("acme", job(at))
        await store.finish("acme", started.model_copy(update={"state": "done", "finished_at": at}))
    await store.start("acme", job(T0 + timedelta(hours=5)))  # running: never pruned
    async with store.db.engine.connect() as conn:
        count = select(func.count()).select_from(rule_replay)
        kept = (await conn.execute(count)).scalar()
        running = (await conn.execute(count.where(rule_replay.c.state == "running"))).scalar()

    assert (kept, running) == (KEPT + 1, 1)
    assert await store.read("acme", old.id) is None  # the oldest went first


@pytest.mark.parametrize("service", ["feedback", "lifecycle", "loyalty"])
async def test_the_migrations_create_the_table_as_defined(service: str, tmp_path: Path) -> None:
    table = importlib.import_module(f"services.{service}.tables").rule_replay
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate(engine, service)
        only = MetaData()
        table.to_metadata(only)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), only)
            )
    finally:
        await engine.dispose()
    assert [d for d in diff if "rule_replay" in repr(d)] == []
