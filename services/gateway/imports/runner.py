"""The job that works through import files: one job at a time, chunk by chunk.

Each chunk (``CRM_IMPORT_CHUNK_ROWS`` rows) is one unit of work: the receipts and
outbox rows of its good rows and the job's progress commit together, so after a crash
the job resumes at the first row not committed (re-reading the file, kept in the job),
and nothing is published twice. A job is held under a lease (``LEASE``), renewed by
every chunk: a runner that died lets another (or its own restart) take it over once
the lease runs out. The tenant's attribute schema is read from profile once per pass;
while profile or the database does not answer, the job waits; any other fault fails
it with the line it stopped at (re-posting the file resumes it)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import structlog

from services.gateway import sealing
from services.gateway.erased import ErasureWatch
from services.gateway.handlers import record_receipts
from services.gateway.imports import registration, rows, store
from services.gateway.ingestion import Sender
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import Upstreams
from shared.events import CloudEvent
from shared.failures import Kind, classify
from shared.problems import Problem
from shared.uow import Database

LEASE = timedelta(seconds=30)
POLL_SECONDS = 5.0
RETRY_SECONDS = 5.0
YIELD_EVERY = 25  # rows built between two turns of the event loop (~1 ms a row)
log = structlog.get_logger()


class Unavailable(Exception):
    """Profile or the database does not answer: the job waits and is tried again."""


class ImportRunner:
    """Drains waiting import jobs; woken at once by an upload, else polls."""

    name = "imports"

    def __init__(
        self,
        db: Database,
        settings: GatewaySettings,
        upstreams: Upstreams,
        subject_keys: ErasureWatch,
    ) -> None:
        """``subject_keys``: the gateway's cache of sealing keys, as its API shares it."""
        self._db, self._upstreams, self._subject_keys = db, upstreams, subject_keys
        self._chunk = settings.import_chunk_rows
        self._keep = settings.import_max_rejections
        self._wake, self._stopping = asyncio.Event(), asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            pause = POLL_SECONDS
            try:
                while not self._stopping.is_set() and await self.run_one():
                    pass
            except Unavailable as waiting:
                log.warning("import waits", reason=str(waiting))
                pause = RETRY_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def run_one(self) -> bool:
        """Take the oldest waiting job and work it to its end (or a stop); False if none."""
        try:
            async with self._db.unit_of_work() as uow:
                job = await store.claim(uow.conn, self._db.clock.now(), LEASE)
                await uow.commit()
        except Exception as error:
            if classify(error) is Kind.TRANSIENT:
                raise Unavailable("the database does not answer") from error
            raise
        if job is None:
            return False
        try:
            await self._work(job)
        except Unavailable:
            await self._settle(job["import_id"], None)
            raise
        except Exception as error:
            if classify(error) is Kind.TRANSIENT:
                raise Unavailable("the database does not answer") from error
            log.exception("import failed", import_id=str(job["import_id"]))
            reason = (
                f"The import stopped at {self._line(job)} ({type(error).__name__}); "
                "post the same file again to resume it."
            )
            await self._settle(job["import_id"], reason)
        return True

    async def _work(self, job: dict[str, Any]) -> None:
        schema = await self._schema(job["tenant_id"])
        importer = registration.Importer(
            import_id=job["import_id"],
            tenant_id=job["tenant_id"],
            partner=job["partner"],
            sources=job["sources"],
            event_types=job["event_types"],
            uploaded_at=job["created_at"],
        )
        text = job["content"].decode("utf-8-sig")
        pending = _skip(rows.records(text, job["format"]), job["rows_read"])
        started, done = time.perf_counter(), job["rows_read"]
        while job["state"] != "done" and not self._stopping.is_set():
            chunk = [record for _, record in zip(range(self._chunk), pending, strict=False)]
            if not await self._apply(job, importer, chunk, schema):
                return  # another runner holds it
        if job["state"] != "done":  # stopping: whoever starts next resumes it at once
            await self._settle(job["import_id"], None)
        log.info(
            "import pass",
            import_id=str(job["import_id"]),
            rows=job["rows_read"] - done,
            seconds=round(time.perf_counter() - started, 3),
        )

    async def _apply(
        self,
        job: dict[str, Any],
        importer: registration.Importer,
        chunk: list[rows.Record],
        schema: rows.Schema,
    ) -> bool:
        now = self._db.clock.now()
        events: list[CloudEvent] = []
        rejections: list[rows.Rejection] = []
        for index, record in enumerate(chunk):
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the API shares this loop: let it answer meanwhile
            row = rows.customer(record, schema, job["default_source"])
            built = (
                row if isinstance(row, rows.Rejection) else registration.events(importer, row, now)
            )
            if isinstance(built, rows.Rejection):
                rejections.append(built)
            else:
                events.extend(built)
        # A file shorter than counted at upload (it cannot be) still ends the job.
        read = len(chunk) if chunk else job["rows"] - job["rows_read"]
        progress = store.Progress(read, len(chunk) - len(rejections), rejections)
        events = await self._sealed(job["tenant_id"], events)
        async with self._db.unit_of_work() as uow:
            sender = Sender(job["tenant_id"], job["partner"])
            await record_receipts(uow, sender, events, now)
            moved = await store.advance(
                uow.conn, job, progress, now=now, lease=LEASE, keep=self._keep
            )
            if moved:
                await uow.commit()
        return moved

    async def _sealed(self, tenant_id: str, events: list[CloudEvent]) -> list[CloudEvent]:
        """The rows' personal fields sealed as a partner's post has them (``sealing``)."""
        await self._subject_keys.fresh()
        try:
            keys = self._subject_keys.cache
            return await sealing.seal_events(self._upstreams, keys, tenant_id, events)
        except Problem as error:
            raise Unavailable("profile cannot give the keys to seal personal data") from error

    async def _schema(self, tenant_id: str) -> rows.Schema:
        """The tenant's declared attributes, name → type, from profile."""
        try:
            answer = await self._upstreams.get("profile", "/v1/profile/attributes", tenant_id, {})
        except Problem as error:
            raise Unavailable("profile does not answer") from error
        if answer.status_code != 200:
            raise Unavailable(f"profile answered {answer.status_code} for the attribute schema")
        declared: dict[str, Any] = answer.json()["attributes"]
        return {name: definition["type"] for name, definition in declared.items()}

    async def _settle(self, import_id: uuid.UUID, failure: str | None) -> None:
        """Fail the job with ``failure``, or (None) let it be taken again."""
        with contextlib.suppress(Exception):
            async with self._db.unit_of_work() as uow:
                if failure is None:
                    await store.release(uow.conn, import_id)
                else:
                    await store.fail(uow.conn, import_id, failure, self._db.clock.now())
                await uow.commit()

    @staticmethod
    def _line(job: dict[str, Any]) -> str:
        return f"row {job['rows_read'] + 1} of {job['rows']}"


def _skip(records: Iterator[rows.Record], count: int) -> Iterator[rows.Record]:
    """The records after the first ``count`` (those a previous pass committed)."""
    for _ in range(count):
        next(records, None)
    return records
