"""Rule-replay jobs kept in the service's database (``rule_replay``), so that every
replica behind a load balancer answers for every job, not only the one that took the
``POST``.

One running job per tenant and kind is the database's rule, not a replica's: a partial
unique index on ``(tenant_id, kind) WHERE state = 'running'`` (PostgreSQL and SQLite), so
two replicas racing a ``POST`` give one 202 and one 409. The replica that runs a job
beats a heartbeat into its row (with the progress, about once a second); a running job
whose heartbeat is older than ``STALE_AFTER`` lost its replica (stopped, crashed): it is
read, and stored, as failed, and no longer holds the slot.

Bounded: each time a job is written the tenant's finished jobs of that kind beyond the
newest ``KEPT`` are deleted, and finished jobs of any tenant older than ``KEPT_FOR``.

Erasure and retention: a row holds no personal data. The ``diff`` is counts per stage,
tier or status, rule keys, and a sample of at most 20 customer ids with their derived
outcome (stage, tier, points, status) and why: pseudonymous ids, no name, contact or
free text; and the row is gone within ``KEPT_FOR``. So an erasure need not touch it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    and_,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.contracts.rules import RuleReplay
from shared.db import UTCDateTime
from shared.uow import Database

STALE_AFTER = timedelta(seconds=60)  # a heartbeat older than this: its replica is gone
KEPT = 50  # finished jobs kept per tenant and kind, the oldest deleted first
KEPT_FOR = timedelta(days=7)  # and none older than this
STOPPED = (
    "The replica running this replay stopped before it finished (no heartbeat for "
    "{seconds} s); start it again."
)
_RUNNING = "state = 'running'"


def replays_table(metadata: MetaData) -> Table:
    """Add ``rule_replay`` to a service's metadata and return it."""
    return Table(
        "rule_replay",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("state", String(16), nullable=False, comment="running, done or failed"),
        Column("progress", String(300), nullable=False),
        Column("requested_by", String(100), nullable=False, comment="api-key:<id>"),
        Column("started_at", UTCDateTime, nullable=False),
        Column("finished_at", UTCDateTime),
        Column("heartbeat_at", UTCDateTime, nullable=False),
        Column("diff", JSON, comment="once done: counts, rule keys, up to 20 customer ids"),
        Column("error", Text, comment="once failed: why, for a person"),
        Index(
            "ux_rule_replay_running",
            "tenant_id",
            "kind",
            unique=True,
            postgresql_where=text(_RUNNING),
            sqlite_where=text(_RUNNING),
        ),
        Index("ix_rule_replay_tenant", "tenant_id", "kind", "started_at"),
        comment="Rule-replay jobs: one running per tenant and kind, the newest finished kept.",
    )


class Busy(Exception):
    """A job of the tenant's of this kind is running (``job``: it, if still there)."""

    def __init__(self, job: RuleReplay | None) -> None:
        super().__init__("a replay is running")
        self.job = job


class ReplayStore:
    """The ``rule_replay`` rows of one service: start, beat, finish, read."""

    def __init__(self, table: Table, db: Database, stale_after: timedelta = STALE_AFTER) -> None:
        self.table, self.db, self.stale_after = table, db, stale_after

    async def start(self, tenant: str, job: RuleReplay) -> RuleReplay:
        """Store ``job`` as running (``Busy`` if one of the tenant's of its kind runs,
        counting none whose heartbeat went stale: those are failed first)."""
        now = job.started_at
        row = {**self._row(job), "tenant_id": tenant, "heartbeat_at": now}
        try:
            async with self.db.unit_of_work() as uow:
                await self._fail_stale(uow.conn, now, tenant=tenant, kind=job.kind)
                await uow.conn.execute(self.table.insert(), [row])
                await self._prune(uow.conn, tenant, job.kind, now)
                await uow.commit()
        except IntegrityError as taken:
            raise Busy(await self._running(tenant, job.kind)) from taken
        return job

    async def beat(self, replay_id: uuid.UUID, progress: str, now: datetime) -> None:
        """The running job's progress and heartbeat (its replica is alive)."""
        t = self.table
        async with self.db.unit_of_work() as uow:
            await uow.conn.execute(
                update(t)
                .where(t.c.id == replay_id, t.c.state == "running")
                .values(progress=progress[:300], heartbeat_at=now)
            )
            await uow.commit()

    async def finish(self, tenant: str, job: RuleReplay) -> None:
        """Store the job's end (done with its diff, or failed with why), and prune."""
        t, now = self.table, job.finished_at or self.db.clock.now()
        values = {k: v for k, v in self._row(job).items() if k not in ("id", "kind")}
        async with self.db.unit_of_work() as uow:
            await uow.conn.execute(
                update(t).where(t.c.id == job.id, t.c.state == "running").values(**values)
            )
            await self._prune(uow.conn, tenant, job.kind, now)
            await uow.commit()

    async def read(self, tenant: str, replay_id: uuid.UUID) -> RuleReplay | None:
        """The tenant's job, as any replica sees it (a stale running one: failed)."""
        t, now = self.table, self.db.clock.now()
        async with self.db.unit_of_work() as uow:
            row = (
                await uow.conn.execute(
                    select(t).where(t.c.id == replay_id, t.c.tenant_id == tenant)
                )
            ).first()
            if row is not None and row.state == "running" and self._stale(row.heartbeat_at, now):
                await self._fail_stale(uow.conn, now, replay_id=replay_id)
                row = (await uow.conn.execute(select(t).where(t.c.id == replay_id))).first()
                await uow.commit()
        return None if row is None else _job(row)

    async def _running(self, tenant: str, kind: str) -> RuleReplay | None:
        t = self.table
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t).where(
                        t.c.tenant_id == tenant, t.c.kind == kind, t.c.state == "running"
                    )
                )
            ).first()
        return None if row is None else _job(row)

    async def _fail_stale(self, conn: AsyncConnection, now: datetime, **which: Any) -> None:
        """Fail the running jobs (of a tenant and kind, or one by id) whose replica is gone."""
        t = self.table
        keys = {"tenant": t.c.tenant_id, "kind": t.c.kind, "replay_id": t.c.id}
        await conn.execute(
            update(t)
            .where(
                t.c.state == "running",
                t.c.heartbeat_at < now - self.stale_after,
                *(keys[name] == value for name, value in which.items()),
            )
            .values(
                state="failed",
                finished_at=now,
                error=STOPPED.format(seconds=int(self.stale_after.total_seconds())),
            )
        )

    async def _prune(self, conn: AsyncConnection, tenant: str, kind: str, now: datetime) -> None:
        """Keep the newest ``KEPT`` finished jobs of the tenant and kind, none past ``KEPT_FOR``."""
        t = self.table
        finished = t.c.state != "running"
        newest = (
            select(t.c.id)
            .where(t.c.tenant_id == tenant, t.c.kind == kind, finished)
            .order_by(t.c.started_at.desc(), t.c.id.desc())
            .limit(KEPT)
        )
        await conn.execute(
            delete(t).where(
                t.c.tenant_id == tenant, t.c.kind == kind, finished, t.c.id.not_in(newest)
            )
        )
        await conn.execute(delete(t).where(and_(finished, t.c.started_at < now - KEPT_FOR)))

    def _stale(self, heartbeat: datetime, now: datetime) -> bool:
        return heartbeat < now - self.stale_after

    @staticmethod
    def _row(job: RuleReplay) -> dict[str, Any]:
        dumped = job.model_dump(mode="json")
        return {
            "id": job.id, "kind": job.kind, "state": job.state, "progress": job.progress[:300],
            "requested_by": job.requested_by, "started_at": job.started_at,
            "finished_at": job.finished_at, "diff": dumped["diff"], "error": job.error,
        }  # fmt: skip


def _job(row: Any) -> RuleReplay:
    return RuleReplay(
        id=row.id, kind=row.kind, state=row.state, progress=row.progress,
        started_at=row.started_at, finished_at=row.finished_at,
        requested_by=row.requested_by, diff=row.diff, error=row.error,
    )  # fmt: skip
