"""Import jobs in the gateway's database: created once per file, claimed by one runner at
a time, advanced chunk by chunk. Functions flush; the caller's unit of work commits.

A chunk's progress is written with the chunk's events, on the condition that the job
is still where the runner found it (``rows_read``): should two runners ever hold the
same job (a lease that ran out under a slow chunk), the second write matches no row,
its unit of work rolls back, and no row is counted or published twice."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.imports.rows import Format, Rejection
from services.gateway.tables import import_job
from shared.contracts.imports import ImportJob, ImportRejection

WAITING = ("queued", "running")
j = import_job.c


@dataclass(frozen=True)
class Upload:
    tenant_id: str
    partner: str
    created_by: str
    sources: list[str] | None
    event_types: list[str] | None
    format: Format
    default_source: str | None
    content: bytes
    rows: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


async def create_or_resume(conn: AsyncConnection, upload: Upload, now: datetime) -> uuid.UUID:
    """A new job for this file, or the tenant's job for the same file: a failed one queued
    again (it resumes where it stopped), any other left as it is."""
    found = (
        await conn.execute(
            select(j.import_id, j.state).where(
                j.tenant_id == upload.tenant_id,
                j.partner == upload.partner,
                j.content_sha256 == upload.sha256,
            )
        )
    ).first()
    if found is not None:
        if found.state == "failed":
            await conn.execute(
                update(import_job)
                .where(j.import_id == found.import_id)
                .values(state="queued", failure=None, content=upload.content, updated_at=now)
            )
        return uuid.UUID(str(found.import_id))
    import_id = uuid.uuid4()
    await conn.execute(import_job.insert().values(_new_row(import_id, upload, now)))
    return import_id


def _new_row(import_id: uuid.UUID, upload: Upload, now: datetime) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "tenant_id": upload.tenant_id,
        "partner": upload.partner,
        "created_by": upload.created_by,
        "sources": upload.sources,
        "event_types": upload.event_types,
        "format": upload.format,
        "default_source": upload.default_source,
        "content_sha256": upload.sha256,
        "content": upload.content,
        "rows": upload.rows,
        "rows_read": 0,
        "accepted": 0,
        "rejected": 0,
        "rejections": [],
        "state": "queued",
        "created_at": now,
        "updated_at": now,
    }


async def find(conn: AsyncConnection, tenant_id: str, import_id: uuid.UUID) -> ImportJob | None:
    """The tenant's job, or None."""
    row = (
        (
            await conn.execute(
                select(import_job).where(j.import_id == import_id, j.tenant_id == tenant_id)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else view(row)


def view(row: Any) -> ImportJob:
    return ImportJob(
        import_id=row["import_id"],
        state=row["state"],
        format=row["format"],
        rows=row["rows"],
        rows_read=row["rows_read"],
        accepted=row["accepted"],
        rejected=row["rejected"],
        rejections=[ImportRejection(**r) for r in row["rejections"]],
        failure=row["failure"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


async def claim(conn: AsyncConnection, now: datetime, lease: timedelta) -> dict[str, Any] | None:
    """The oldest waiting job no runner holds, now held by the caller until ``now + lease``."""
    free = or_(j.claimed_until.is_(None), j.claimed_until < now)
    candidate = (
        await conn.execute(
            select(j.import_id).where(j.state.in_(WAITING), free).order_by(j.created_at).limit(1)
        )
    ).scalar()
    if candidate is None:
        return None
    taken = await conn.execute(
        update(import_job)
        .where(j.import_id == candidate, j.state.in_(WAITING), free)
        .values(state="running", claimed_until=now + lease, updated_at=now)
    )
    if taken.rowcount != 1:
        return None  # another runner took it first
    row = (await conn.execute(select(import_job).where(j.import_id == candidate))).mappings()
    return dict(row.one())


@dataclass(frozen=True)
class Progress:
    """What one chunk did: rows read, accepted and rejected (with the reasons)."""

    rows_read: int
    accepted: int
    rejections: list[Rejection]


async def advance(
    conn: AsyncConnection,
    job: dict[str, Any],
    progress: Progress,
    *,
    now: datetime,
    lease: timedelta,
    keep: int,
) -> bool:
    """Write a chunk's progress into ``job`` (updated in place) if the job is still where
    it was read; False if another runner moved it meanwhile (roll back then)."""
    kept = list(job["rejections"])
    kept += [{"line": r.line, "reason": r.reason} for r in progress.rejections]
    done = job["rows_read"] + progress.rows_read >= job["rows"]
    values: dict[str, Any] = {
        "rows_read": job["rows_read"] + progress.rows_read,
        "accepted": job["accepted"] + progress.accepted,
        "rejected": job["rejected"] + len(progress.rejections),
        "rejections": kept[:keep],
        "updated_at": now,
        "claimed_until": None if done else now + lease,
    }
    if done:
        values |= {"state": "done", "finished_at": now, "content": None}
    moved = await conn.execute(
        update(import_job)
        .where(j.import_id == job["import_id"], j.rows_read == job["rows_read"])
        .values(values)
    )
    if moved.rowcount != 1:
        return False
    job.update(values)
    return True


async def fail(conn: AsyncConnection, import_id: uuid.UUID, reason: str, now: datetime) -> None:
    """Stop the job with a reason a person can act on (the file is kept for a resume)."""
    await conn.execute(
        update(import_job)
        .where(j.import_id == import_id)
        .values(state="failed", failure=reason[:500], claimed_until=None, updated_at=now)
    )


async def release(conn: AsyncConnection, import_id: uuid.UUID) -> None:
    """Let another pass (or runner) take the job at once: its work was interrupted."""
    await conn.execute(
        update(import_job).where(j.import_id == import_id).values(claimed_until=None)
    )
