"""Export jobs: everything every service holds about one customer, as one JSON document.

The gateway reads profile's part in the request (so an unknown customer is a 404 at
once), records the job, and gathers the other services' parts in the background, one
service after another, writing each into the job as it comes: ``GET`` shows the
progress, then the document. A job's document is personal data, so it is kept a day
(``EXPIRY``) and deleted with the customer's erasure. A job whose gatherer died with
its process reports ``failed`` after ``STALE``: post the export again."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select, update

from services.gateway.tables import privacy_export
from services.gateway.upstream import Upstreams
from shared.contracts.privacy import ExportJob, ExportPart
from shared.problems import Problem
from shared.uow import Database

EXPIRY = timedelta(days=1)
STALE = timedelta(minutes=5)
SERVICES = ("profile", "lifecycle", "feedback", "loyalty")
FAILED = "failed"
log = logging.getLogger(__name__)
_running: set[asyncio.Task[None]] = set()  # held, so the loop does not drop a gatherer


def _path(customer_id: uuid.UUID) -> str:
    return f"/v1/customers/{customer_id}/privacy-export"


async def start(
    db: Database, upstreams: Upstreams, tenant_id: str, customer_id: uuid.UUID, requested_by: str
) -> ExportJob:
    """Read profile's part, record the job and start gathering the others.
    Raises ``Problem`` 404 for a customer profile does not know."""
    answer = await upstreams.get("profile", _path(customer_id), tenant_id, {})
    if answer.status_code == 404:
        raise Problem(404, "customer-not-found", f"No customer {customer_id} in this tenant.")
    if answer.status_code != 200:
        raise Problem(503, "service-unavailable", "The profile service failed; retry shortly.")
    now = db.clock.now()
    row = {
        "export_id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "requested_by": requested_by,
        "requested_at": now,
        "parts": {"profile": answer.json()["tables"]},
        "completed_at": None,
        "expires_at": now + EXPIRY,
    }
    async with db.unit_of_work() as uow:
        await uow.conn.execute(privacy_export.insert().values(row))
        await uow.commit()
    task = asyncio.create_task(_gather(db, upstreams, row))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return view(row, now)


async def _gather(db: Database, upstreams: Upstreams, row: dict[str, Any]) -> None:
    """Each other service's part, written into the job as it comes; then complete."""
    parts = dict(row["parts"])
    for service in SERVICES[1:]:
        try:
            answer = await upstreams.get(service, _path(row["customer_id"]), row["tenant_id"], {})
            answer.raise_for_status()
            parts[service] = answer.json()["tables"]
        except (Problem, httpx.HTTPError, ValueError, KeyError):
            log.warning("export %s: %s did not answer", row["export_id"], service)
            parts[service] = FAILED
        done = service == SERVICES[-1]
        await _save(db, row["export_id"], parts, db.clock.now() if done else None)


async def _save(
    db: Database, export_id: uuid.UUID, parts: dict[str, Any], completed_at: datetime | None
) -> None:
    async with db.unit_of_work() as uow:
        await uow.conn.execute(
            update(privacy_export)
            .where(privacy_export.c.export_id == export_id)
            .values(parts=parts, completed_at=completed_at)
        )
        await uow.commit()


async def find(db: Database, tenant_id: str, export_id: uuid.UUID) -> ExportJob | None:
    """The job, or None (another tenant's, or expired: then it is deleted)."""
    e = privacy_export.c
    now = db.clock.now()
    async with db.engine.connect() as conn:
        query = select(privacy_export).where(e.export_id == export_id, e.tenant_id == tenant_id)
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    if row["expires_at"] <= now:
        await forget(db, tenant_id, export_id=export_id)
        return None
    return view(dict(row), now)


async def forget(
    db: Database,
    tenant_id: str,
    *,
    export_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> None:
    """Delete one job, or every job about a customer (before its erasure)."""
    e = privacy_export.c
    which = e.export_id == export_id if export_id else e.customer_id == customer_id
    async with db.unit_of_work() as uow:
        await uow.conn.execute(delete(privacy_export).where(e.tenant_id == tenant_id, which))
        await uow.commit()


def view(row: dict[str, Any], now: datetime) -> ExportJob:
    parts: dict[str, Any] = row["parts"]
    statuses = {
        s: "pending" if s not in parts else FAILED if parts[s] == FAILED else "done"
        for s in SERVICES
    }
    completed = row["completed_at"]
    failed = FAILED in statuses.values() or (
        completed is None and now - row["requested_at"] > STALE
    )
    status = "failed" if failed else "ready" if completed else "gathering"
    return ExportJob(
        export_id=row["export_id"],
        customer_id=row["customer_id"],
        status=status,
        requested_at=row["requested_at"],
        completed_at=completed,
        expires_at=row["expires_at"],
        services=[ExportPart(service=s, status=statuses[s]) for s in SERVICES],
        document=_document(row, parts) if status == "ready" else None,
    )


def _document(row: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": str(row["customer_id"]),
        "exported_at": row["completed_at"].isoformat(),
        "services": {s: parts[s] for s in SERVICES},
    }
