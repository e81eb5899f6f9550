"""Feedback's reads of complaints: a customer's, page by page; the desk's queue across
customers, by due time; one complaint with its notes; and the satisfaction scores of
a window with how detractors were recovered. Read-only queries on the service's own
tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from services.feedback import domain
from services.feedback.domain.complaints import OPEN_STATUSES, RECOVERY, Complaint
from services.feedback.domain.config import Detractors
from services.feedback.domain.surveys import RecoveryCase, recovery
from services.feedback.store import complaint_of
from services.feedback.tables import complaint, complaint_note, survey_response
from shared.contracts import desk as desk_contract
from shared.contracts import feedback as contract
from shared.contracts.feedback import ComplaintPage
from shared.cursors import encode_keyset

Position = tuple[datetime, uuid.UUID]


async def complaints_page(
    engine: AsyncEngine,
    tenant_id: str,
    customer_id: uuid.UUID,
    limit: int,
    after: Position | None,
    now: datetime,
) -> ComplaintPage:
    """Complaints newest first, after the (opened_at, complaint_id) of a cursor; the cursor
    is the last one's, so pages stay stable while new complaints arrive."""
    c = complaint.c
    query = select(complaint).where(c.tenant_id == tenant_id, c.customer_id == customer_id)
    if after:
        at, complaint_id = after
        query = query.where(
            or_(c.opened_at < at, and_(c.opened_at == at, c.complaint_id < complaint_id))
        )
    query = query.order_by(c.opened_at.desc(), c.complaint_id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    page = [complaint_of(r) for r in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return ComplaintPage(
        complaints=[complaint_answer(c, now) for c in page],
        next_cursor=encode_keyset(last.opened_at, last.complaint_id) if last else None,
    )


@dataclass(frozen=True)
class DeskQuery:
    """The desk's filters: each None lets everything through."""

    status: str | None = None
    severity: str | None = None
    breached: bool | None = None
    assignee: str | None = None
    category: str | None = None


async def desk_page(
    engine: AsyncEngine,
    tenant_id: str,
    wanted: DeskQuery,
    limit: int,
    after: Position | None,
    now: datetime,
) -> desk_contract.DeskPage:
    """The tenant's complaints the filters let through, the soonest due first, after
    the (due_at, complaint_id) of a cursor."""
    c = complaint.c
    query = select(complaint).where(c.tenant_id == tenant_id, *_filters(wanted, now))
    if after:
        at, complaint_id = after
        query = query.where(or_(c.due_at > at, and_(c.due_at == at, c.complaint_id > complaint_id)))
    query = query.order_by(c.due_at, c.complaint_id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    page = [complaint_of(r) for r in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return desk_contract.DeskPage(
        complaints=[complaint_answer(c, now) for c in page],
        next_cursor=encode_keyset(last.due_at, last.complaint_id) if last else None,
    )


def _filters(wanted: DeskQuery, now: datetime) -> list[ColumnElement[bool]]:
    c = complaint.c
    found: list[ColumnElement[bool]] = []
    if wanted.status is not None:
        found.append(c.status == wanted.status)
    if wanted.severity is not None:
        found.append(c.severity == wanted.severity)
    if wanted.assignee is not None:
        found.append(c.assignee == wanted.assignee)
    if wanted.category is not None:
        found.append(c.category == wanted.category)
    if wanted.breached is not None:
        # Open either way: past its due time, or not yet (a range of the due-time index).
        due = c.due_at < now if wanted.breached else c.due_at >= now
        found.append(and_(c.status.in_(OPEN_STATUSES), due))
    return found


async def complaint_detail(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID, complaint_id: uuid.UUID,
    now: datetime,
) -> desk_contract.ComplaintDetail | None:  # fmt: skip
    """One of the customer's complaints with its text, resolution and notes, or None."""
    c, n = complaint.c, complaint_note.c
    query = select(complaint).where(
        c.tenant_id == tenant_id, c.customer_id == customer_id, c.complaint_id == complaint_id
    )
    notes = select(complaint_note).where(n.complaint_id == complaint_id).order_by(n.at)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        written = (await conn.execute(notes)).mappings().all()
    found = complaint_of(row)
    return desk_contract.ComplaintDetail(
        **complaint_answer(found, now).model_dump(),
        text=found.text,
        resolution=found.resolution,
        resolver=found.resolver,
        notes=[desk_contract.Note.model_validate(dict(r)) for r in written],
    )


def complaint_answer(found: Complaint, now: datetime) -> contract.Complaint:
    """A complaint as the lists show it (its text, resolution and notes stay inside)."""
    answer = contract.Complaint.model_validate(found, from_attributes=True)
    answer.breached = found.status in OPEN_STATUSES and found.due_at < now
    return answer


async def satisfaction(
    engine: AsyncEngine, tenant_id: str, start: datetime, end: datetime, detractor: Detractors
) -> dict[str, Any]:
    """The tenant's NPS, CSAT and CES over answers given in [start, end), and how the
    recovery cases opened in it went."""
    r = survey_response.c
    query = (
        select(r.survey, r.score, func.count())
        .where(r.tenant_id == tenant_id, r.responded_at >= start, r.responded_at < end)
        .group_by(r.survey, r.score)
    )
    async with engine.connect() as conn:
        counts = {(survey, score): n for survey, score, n in await conn.execute(query)}
        cases = await _recovery_cases(conn, tenant_id, start, end)
    return {**domain.scores(counts), "recovery": recovery(cases, detractor)}


async def _recovery_cases(
    conn: AsyncConnection, tenant_id: str, start: datetime, end: datetime
) -> list[RecoveryCase]:
    """The recovery cases opened in [start, end), each with the customer's next answer."""
    c, r = complaint.c, survey_response.c

    def following(column: ColumnElement[Any]) -> ScalarSelect[Any]:
        return (
            select(column)
            .where(
                r.tenant_id == c.tenant_id,
                r.customer_id == c.customer_id,
                r.responded_at > c.opened_at,
            )
            .order_by(r.responded_at)
            .limit(1)
            .scalar_subquery()
        )

    query = select(c.due_at, c.first_contact_at, following(r.survey), following(r.score)).where(
        c.tenant_id == tenant_id,
        c.category == RECOVERY,
        c.opened_at >= start,
        c.opened_at < end,
    )
    return [
        RecoveryCase(due, first, (survey, score) if survey is not None else None)
        for due, first, survey, score in await conn.execute(query)
    ]
