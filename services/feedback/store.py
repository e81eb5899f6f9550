"""Feedback's repository: complaints, survey responses and invitations, read and written
a batch at a time. It flushes and never commits; the caller's unit of work does.

Rows come back as the domain's frozen dataclasses (``Complaint``, ``Invitation``),
and a changed one is written back whole, by its id. Every row read to be changed is
locked with ``FOR UPDATE`` until the unit of work ends, so the value written back
is the one read; the sweep's due rows skip rows another replica holds
(``SKIP LOCKED``) rather than wait for them, so replicas share the work.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import datetime

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.domain.complaints import OPEN_STATUSES, Complaint
from services.feedback.domain.invitations import SCHEDULED, SENT, Invitation
from services.feedback.domain.surveys import Response
from services.feedback.tables import complaint, survey_invitation, survey_response
from shared.db import insert_ignoring_conflicts, insert_new, keys_in
from shared.events.activity import SurveyKind

Key = tuple[str, uuid.UUID]  # (tenant, customer)
RefKey = tuple[str, str]  # (tenant, complaint_ref)
COMPLAINT_FIELDS = tuple(f.name for f in fields(Complaint))
INVITATION_FIELDS = tuple(f.name for f in fields(Invitation))
# What a complaint's or an invitation's steps change, and so what is written back.
COMPLAINT_CHANGES = (
    "status", "escalation_level", "escalate_at", "escalated_at",
    "resolved_at", "resolved_by", "resolution",
)  # fmt: skip
INVITATION_CHANGES = ("status", "invited_at", "expires_at", "answered_at", "response_id")


def complaint_of(row: RowMapping) -> Complaint:
    """A complaint row as the domain's ``Complaint``."""
    return Complaint(**{name: row[name] for name in COMPLAINT_FIELDS})


def invitation_of(row: RowMapping) -> Invitation:
    """An invitation row as the domain's ``Invitation``."""
    return Invitation(**{name: row[name] for name in INVITATION_FIELDS})


# Complaints


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
    found = await _locked(conn, query)
    return {(r.tenant_id, r.complaint_ref): r for r in map(complaint_of, found)}


async def lock_complaint(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID, complaint_id: uuid.UUID
) -> Complaint | None:
    """The customer's complaint of this id in this tenant, locked, or None."""
    c = complaint.c
    query = select(complaint).where(
        c.tenant_id == tenant_id, c.customer_id == customer_id, c.complaint_id == complaint_id
    )
    found = await _locked(conn, query)
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
    return [complaint_of(r) for r in await _due(conn, query, complaint, tenant)]


async def save_complaints(conn: AsyncConnection, changed: Sequence[Complaint]) -> None:
    """Write back the status, escalation and resolution of these complaints."""
    await _write_back(conn, complaint, "complaint_id", COMPLAINT_CHANGES, map(asdict, changed))


async def open_counts(conn: AsyncConnection, keys: Collection[Key]) -> dict[Key, int]:
    """Each customer's open (or escalated) complaints, by (tenant, customer)."""
    c = complaint.c
    rows = await conn.execute(
        select(c.tenant_id, c.customer_id, func.count())
        .where(keys_in(conn, [c.tenant_id, c.customer_id], keys), c.status.in_(OPEN_STATUSES))
        .group_by(c.tenant_id, c.customer_id)
    )
    return {(t, customer): n for t, customer, n in rows}


# Survey responses and invitations


async def add_responses(conn: AsyncConnection, responses: Sequence[Response]) -> None:
    """Insert the responses; one recorded before (the same id) is left alone."""
    await insert_ignoring_conflicts(conn, survey_response, [asdict(r) for r in responses])


async def add_invitations(conn: AsyncConnection, invitations: Sequence[Invitation]) -> None:
    """Insert the scheduled invitations; one scheduled before (the same id) is left alone."""
    await insert_ignoring_conflicts(conn, survey_invitation, [asdict(i) for i in invitations])


async def latest_invitations(
    conn: AsyncConnection, keys: Collection[Key]
) -> dict[tuple[Key, SurveyKind], datetime]:
    """Each customer's latest invitation due time per survey kind, whatever its status:
    an invitation sent, answered or lapsed still counts against the throttle."""
    inv = survey_invitation.c
    rows = await conn.execute(
        select(inv.tenant_id, inv.customer_id, inv.survey, func.max(inv.due_at))
        .where(keys_in(conn, [inv.tenant_id, inv.customer_id], keys))
        .group_by(inv.tenant_id, inv.customer_id, inv.survey)
    )
    return {((t, customer), survey): at for t, customer, survey, at in rows}


async def sent_invitations(
    conn: AsyncConnection, wanted: Collection[tuple[str, uuid.UUID, str]]
) -> list[Invitation]:
    """The sent (still open) invitations of these (tenant, customer, survey), latest
    first, locked."""
    inv = survey_invitation.c
    query = (
        select(survey_invitation)
        .where(
            keys_in(conn, [inv.tenant_id, inv.customer_id, inv.survey], wanted), inv.status == SENT
        )
        .order_by(inv.invited_at.desc())
    )
    return [invitation_of(r) for r in await _locked(conn, query)]


async def due_invitations(
    conn: AsyncConnection, now: datetime, limit: int, tenant: str | None
) -> list[Invitation]:
    """Scheduled invitations due to be sent, the longest due first."""
    inv = survey_invitation.c
    query = (
        select(survey_invitation)
        .where(inv.status == SCHEDULED, inv.due_at <= now)
        .order_by(inv.due_at)
        .limit(limit)
    )
    return [invitation_of(r) for r in await _due(conn, query, survey_invitation, tenant)]


async def lapsing_invitations(
    conn: AsyncConnection, now: datetime, limit: int, tenant: str | None
) -> list[Invitation]:
    """Sent invitations nobody answered before they expired."""
    inv = survey_invitation.c
    query = select(survey_invitation).where(inv.status == SENT, inv.expires_at <= now).limit(limit)
    return [invitation_of(r) for r in await _due(conn, query, survey_invitation, tenant)]


async def save_invitations(conn: AsyncConnection, changed: Sequence[Invitation]) -> None:
    """Write back the status, sending, expiry and answer of these invitations."""
    await _write_back(
        conn, survey_invitation, "invitation_id", INVITATION_CHANGES, map(asdict, changed)
    )


# Helpers


async def _locked(conn: AsyncConnection, query: Select[tuple[object]]) -> Sequence[RowMapping]:
    """The rows of ``query``, locked until the unit of work ends."""
    return (await conn.execute(query.with_for_update())).mappings().all()


async def _due(
    conn: AsyncConnection, query: Select[tuple[object]], table: Table, tenant: str | None
) -> Sequence[RowMapping]:
    """The due rows of ``query`` (of ``tenant`` only, when named), locked; rows another
    replica holds are skipped, not waited for."""
    if tenant is not None:
        query = query.where(table.c.tenant_id == tenant)
    return (await conn.execute(query.with_for_update(skip_locked=True))).mappings().all()


async def _write_back(
    conn: AsyncConnection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, object]],
) -> None:
    """Write ``columns`` of each row to the row of its ``key``: one statement for all."""
    params = [{f"_{name}": row[name] for name in (key, *columns)} for row in rows]
    if not params:
        return
    statement = (
        update(table)
        .where(table.c[key] == bindparam(f"_{key}"))
        .values({name: bindparam(f"_{name}") for name in columns})
    )
    await conn.execute(statement, params)
