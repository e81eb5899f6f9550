"""The imports' application functions: take a file as a job, read a job."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from services.gateway.imports import store
from shared.contracts.imports import ImportJob
from shared.uow import Database


async def start(db: Database, upload: store.Upload, wake: Callable[[], None]) -> ImportJob:
    """The job for this file, new or (the same file posted again) the one there is; a
    failed one resumes. ``wake`` (the runner's) is called once the job is committed."""
    try:
        return await _start(db, upload, wake)
    except IntegrityError:  # the same file posted twice at once: the other post's job is it
        return await _start(db, upload, wake)


async def _start(db: Database, upload: store.Upload, wake: Callable[[], None]) -> ImportJob:
    async with db.unit_of_work() as uow:
        import_id = await store.create_or_resume(uow.conn, upload, db.clock.now())
        job = await store.find(uow.conn, upload.tenant_id, import_id)
        uow.after_commit(wake)
        await uow.commit()
    if job is None:
        raise LookupError(f"import {import_id} vanished as it was written")
    return job


async def find(db: Database, tenant_id: str, import_id: uuid.UUID) -> ImportJob | None:
    """The tenant's job, or None (unknown, or another tenant's)."""
    async with db.engine.connect() as conn:
        return await store.find(conn, tenant_id, import_id)
