"""Import jobs on real PostgreSQL (the gateway's migrated database) with profile answering
the attribute schema: a runner killed between two chunks leaves a job another runner
resumes once the lease runs out, and every row's event is in the outbox exactly once; a
job that fails says where and why, and posting the same file again resumes it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.erased import ErasureWatch
from services.gateway.imports import handlers, store
from services.gateway.imports.runner import LEASE, ImportRunner
from services.gateway.settings import GatewaySettings
from services.gateway.tables import import_job, ingestion_receipt, outbox
from services.gateway.upstream import Upstreams, upstreams
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.migrations import migrate
from shared.sealing import KeyCache
from shared.uow import Database
from tests.integration.services import (
    INTERNAL_SECRET,
    Infra,
    create_database,
    drop_database,
    run_service,
)

T0 = datetime(2026, 11, 30, 8, tzinfo=UTC)
ROWS = 120


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    for name in ("gateway_imports", "profile"):
        await create_database(infra, name)
    engine = create_engine(infra.database_url("gateway_imports"))
    await migrate(engine, "gateway")
    try:
        yield engine
    finally:
        await engine.dispose()
        for name in ("gateway_imports", "profile"):
            await drop_database(infra, name)


@contextlib.asynccontextmanager
async def profile(infra: Infra, tenant: str) -> AsyncIterator[Upstreams]:
    """Profile running on its own database, reached as the gateway reaches it."""
    async with run_service(infra, "profile", tenant=tenant) as service:
        schema = {"attributes": {"score": {"type": "number"}}}
        assert (await service.client.put("/v1/profile/attributes", json=schema)).status_code == 200
        transport = httpx.ASGITransport(app=service.app)
        urls = {name: f"http://{name}" for name in ("profile", "lifecycle", "feedback", "loyalty")}
        async with upstreams(urls, {"profile": transport}, 5, INTERNAL_SECRET) as clients:
            yield clients


def upload(tenant: str, content: bytes, rows: int = ROWS) -> store.Upload:
    return store.Upload(
        tenant_id=tenant,
        partner="crm",
        created_by="api-key:test",
        sources=["pos"],
        event_types=None,
        format="csv",
        default_source="pos",
        content=content,
        rows=rows,
    )


def csv_file() -> bytes:
    lines = ["external_id,score"] + [
        f"C-{n},{n}" if n % 10 else f"C-{n},many" for n in range(1, ROWS + 1)
    ]
    return ("\n".join(lines) + "\n").encode()


async def job_row(engine: AsyncEngine, import_id: uuid.UUID) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = await conn.execute(select(import_job).where(import_job.c.import_id == import_id))
        return dict(found.mappings().one())


async def published(engine: AsyncEngine) -> tuple[int, int]:
    """Outbox rows, and distinct event ids among them."""
    async with engine.connect() as conn:
        query = select(func.count(), func.count(func.distinct(outbox.c.event_id)))
        total, distinct = (await conn.execute(query)).one()
    return total, distinct


async def test_a_killed_runner_leaves_a_job_another_resumes_exactly_once(
    infra: Infra, engine: AsyncEngine
) -> None:
    tenant, clock = f"t-{uuid.uuid4().hex[:8]}", FrozenClock(T0)
    db = Database(engine, outbox, clock)
    settings = GatewaySettings(import_chunk_rows=4)
    async with profile(infra, tenant) as clients:
        job = await handlers.start(db, upload(tenant, csv_file()), lambda: None)
        first = ImportRunner(db, settings, clients, ErasureWatch(db, KeyCache()))
        running = asyncio.create_task(first.run())
        for _ in range(500):
            if (await job_row(engine, job.import_id))["rows_read"]:
                break
            await asyncio.sleep(0.01)
        running.cancel()  # the process dies mid-job: its lease stays
        with contextlib.suppress(asyncio.CancelledError):
            await running
        stopped = await job_row(engine, job.import_id)
        assert 0 < int(stopped["rows_read"]) < ROWS and stopped["state"] == "running"

        second = ImportRunner(db, settings, clients, ErasureWatch(db, KeyCache()))
        assert not await second.run_one()  # held under the dead runner's lease
        # A chunk the dead runner was committing may still land: the second runner then
        # finds the job moved, leaves it, and takes it again once its own lease runs out.
        for _ in range(3):
            clock.move_to(clock.now() + LEASE + timedelta(seconds=1))
            assert await second.run_one()
            if (await job_row(engine, job.import_id))["state"] == "done":
                break

    done = await job_row(engine, job.import_id)
    assert (done["state"], done["rows_read"], done["accepted"], done["rejected"]) == (
        "done",
        ROWS,
        ROWS - ROWS // 10,
        ROWS // 10,
    )
    assert done["content"] is None  # the file's personal data goes with the job's end
    lines = [r["line"] for r in done["rejections"]]
    assert lines == [n + 1 for n in range(10, ROWS + 1, 10)]
    assert await published(engine) == (ROWS - ROWS // 10,) * 2
    async with engine.connect() as conn:
        receipts = await conn.execute(select(func.count()).select_from(ingestion_receipt))
        assert receipts.scalar() == ROWS - ROWS // 10


async def test_a_stopped_runner_lets_the_next_one_resume_at_once(
    infra: Infra, engine: AsyncEngine
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    db = Database(engine, outbox, FrozenClock(T0))
    settings = GatewaySettings(import_chunk_rows=1)
    async with profile(infra, tenant) as clients:
        job = await handlers.start(db, upload(tenant, csv_file()), lambda: None)
        first = ImportRunner(db, settings, clients, ErasureWatch(db, KeyCache()))
        running = asyncio.create_task(first.run())
        for _ in range(500):
            if (await job_row(engine, job.import_id))["rows_read"]:
                break
            await asyncio.sleep(0.01)
        first.stop()  # a graceful stop ends the chunk in hand and lets the job go
        await running
        stopped = await job_row(engine, job.import_id)
        assert stopped["rows_read"] < ROWS and stopped["claimed_until"] is None
        resumed = ImportRunner(db, settings, clients, ErasureWatch(db, KeyCache()))
        assert await resumed.run_one()  # no lease to wait out
    assert (await job_row(engine, job.import_id))["state"] == "done"
    assert await published(engine) == (ROWS - ROWS // 10,) * 2


async def test_a_failed_job_says_where_and_resumes_when_the_file_is_posted_again(
    infra: Infra, engine: AsyncEngine
) -> None:
    tenant, clock = f"t-{uuid.uuid4().hex[:8]}", FrozenClock(T0)
    db = Database(engine, outbox, clock)
    content = csv_file()
    async with profile(infra, tenant) as clients:
        job = await handlers.start(db, upload(tenant, content), lambda: None)
        async with engine.begin() as conn:  # the stored file damaged: no row can be read
            await conn.execute(
                update(import_job)
                .where(import_job.c.import_id == job.import_id)
                .values(content=b"\xff\xfe")
            )
        runner = ImportRunner(db, GatewaySettings(), clients, ErasureWatch(db, KeyCache()))
        assert await runner.run_one()
        failed = await job_row(engine, job.import_id)
        assert failed["state"] == "failed" and failed["rows_read"] == 0
        assert failed["failure"] == (
            f"The import stopped at row 1 of {ROWS} (UnicodeDecodeError); "
            "post the same file again to resume it."
        )
        again = await handlers.start(db, upload(tenant, content), lambda: None)
        assert again.import_id == job.import_id and again.state == "queued"
        assert await runner.run_one()
    resumed = await job_row(engine, job.import_id)
    assert (resumed["state"], resumed["accepted"], resumed["failure"]) == ("done", 108, None)


async def test_imported_contact_details_leave_sealed_as_a_partners_post_does(
    infra: Infra, engine: AsyncEngine
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    db = Database(engine, outbox, FrozenClock(T0))
    people = b"external_id,name,email\nC-1,Ada Quill,ada.quill@example.com\n"
    async with profile(infra, tenant) as clients:
        job = await handlers.start(db, upload(tenant, people, rows=1), lambda: None)
        assert await ImportRunner(
            db, GatewaySettings(), clients, ErasureWatch(db, KeyCache())
        ).run_one()
    assert (await job_row(engine, job.import_id))["accepted"] == 1
    async with engine.connect() as conn:
        values = [bytes(v) for v in (await conn.execute(select(outbox.c.value))).scalars()]
    assert values and all(b'"sealed"' in v for v in values)
    assert not any(b"ada.quill@example.com" in v or b"Ada Quill" in v for v in values)
