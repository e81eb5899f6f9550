"""Complaints and their notes, read and written a batch at a time."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.domain.complaints import OPEN_STATUSES, Complaint
from services.feedback.domain.desk import Note
from services.feedback.store.rows import complaint_of, due, locked, write_back
from services.feedback.tables import complaint, complaint_note
from shared.db import insert_ignoring_conflicts, insert_new, keys_in

Key = tuple[str, uuid.UUID]  # (tenant, customer)
RefKey = tuple[str, str]  # (tenant, complaint_ref)
# What a complaint's steps change, and so what is written back.
COMPLAINT_CHANGES = (
    "status", "due_at", "escalation_level", "escalate_at", "escalated_at",
    "resolved_at", "resolved_by", "resolution", "assignee", "first_contact_at",
    "closed_at", "reopened", "compensation_points", "resolver",
)  # fmt: skip


async def add_complaints(conn: AsyncConnection, filed: Sequence[Complaint]) -> list[Complaint]:
    """Insert the complaints; those filed before (the same id, or the same ref in the
    tenant) are left alone. The new ones, in order."""
    rows = [asdict(c) for c in filed]
    new_ids = await insert_new(conn, complaint, rows, returning="complaint_id")
    return [c for c in filed if c.complaint_id in new_ids]


async def complaints_by_ref(
    conn: AsyncConnection, refs: Collection[RefKey]
) -> dict[RefKey, Complaint]:
    """The complaints filed under these (tenant, ref), locked."""
    c = complaint.c
    query = select(complaint).where(keys_in(conn, [c.tenant_id, c.complaint_ref], refs))
    found = await locked(conn, query)
    return {(r.tenant_id, r.complaint_ref): r for r in map(complaint_of, found)}


async def lock_complaint(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID, complaint_id: uuid.UUID
) -> Complaint | None:
    """The customer's complaint of this id in this tenant, locked, or None."""
    c = complaint.c
    query = select(complaint).where(
        c.tenant_id == tenant_id, c.customer_id == customer_id, c.complaint_id == complaint_id
    )
    found = await locked(conn, query)
    return complaint_of(found[0]) if found else None


async def due_escalations(
    conn: AsyncConnection, now: datetime, limit: int, tenant: str | None
) -> list[Complaint]:
    """Open complaints whose next escalation is due, the longest due first."""
    c = complaint.c
    query = (
        select(complaint)
        .where(c.status.in_(OPEN_STATUSES), c.escalate_at <= now)
        .order_by(c.escalate_at)
        .limit(limit)
    )
    return [complaint_of(r) for r in await due(conn, query, complaint, tenant)]


async def save_complaints(conn: AsyncConnection, changed: Sequence[Complaint]) -> None:
    """Write back the status, desk fields, escalation and resolution of these complaints."""
    await write_back(conn, complaint, "complaint_id", COMPLAINT_CHANGES, map(asdict, changed))


async def open_counts(conn: AsyncConnection, keys: Collection[Key]) -> dict[Key, int]:
    """Each customer's open complaints (any status before resolved), by (tenant, customer)."""
    if not keys:
        return {}
    c = complaint.c
    rows = await conn.execute(
        select(c.tenant_id, c.customer_id, func.count())
        .where(keys_in(conn, [c.tenant_id, c.customer_id], keys), c.status.in_(OPEN_STATUSES))
        .group_by(c.tenant_id, c.customer_id)
    )
    return {(t, customer): n for t, customer, n in rows}


async def add_notes(
    conn: AsyncConnection, found: Complaint, notes: Sequence[tuple[uuid.UUID, Note]]
) -> None:
    """Keep these notes (each with its id) on the complaint."""
    rows = [
        {"note_id": note_id, "complaint_id": found.complaint_id, "tenant_id": found.tenant_id,
         "author": note.author, "text": note.text, "at": note.at}
        for note_id, note in notes
    ]  # fmt: skip
    # A rebuild reopens a complaint again: its reopening's note, kept, is not doubled.
    await insert_ignoring_conflicts(conn, complaint_note, rows)


async def count_notes(conn: AsyncConnection, complaint_id: uuid.UUID) -> int:
    """How many notes the complaint holds."""
    n = complaint_note.c
    query = select(func.count()).where(n.complaint_id == complaint_id)
    return int((await conn.execute(query)).scalar_one())
