"""Feedback's reads: a customer's complaints, page by page, and the satisfaction scores
of a window. Read-only queries on the service's own tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.feedback import domain
from services.feedback.domain.complaints import Complaint
from services.feedback.store import complaint_of
from services.feedback.tables import complaint, survey_invitation, survey_response
from shared.contracts import feedback as contract
from shared.contracts.feedback import ComplaintPage
from shared.cursors import encode_keyset

OPEN_INVITATIONS = 20


async def complaints_page(
    engine: AsyncEngine,
    tenant_id: str,
    customer_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
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
        complaints=[complaint_answer(c) for c in page],
        next_cursor=encode_keyset(last.opened_at, last.complaint_id) if last else None,
    )


async def open_invitations(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID, now: datetime
) -> contract.InvitationList:
    """The customer's invitations sent and not yet answered or expired, newest first."""
    i = survey_invitation.c
    query = (
        select(i.invitation_id, i.survey, i.order_id, i.invited_at, i.expires_at)
        .where(i.tenant_id == tenant_id, i.customer_id == customer_id)
        .where(i.status == "sent", i.expires_at > now)
        .order_by(i.invited_at.desc(), i.invitation_id.desc())
        .limit(OPEN_INVITATIONS)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    invitations = [contract.SurveyInvitation.model_validate(dict(row)) for row in rows]
    return contract.InvitationList(invitations=invitations)


def complaint_answer(found: Complaint) -> contract.Complaint:
    """A complaint as the API shows it (its text and resolution stay inside)."""
    return contract.Complaint.model_validate(found, from_attributes=True)


async def satisfaction(
    engine: AsyncEngine, tenant_id: str, start: datetime, end: datetime
) -> dict[str, dict[str, float | int | None]]:
    """The tenant's NPS, CSAT and CES over answers given in [start, end)."""
    r = survey_response.c
    query = (
        select(r.survey, r.score, func.count())
        .where(r.tenant_id == tenant_id, r.responded_at >= start, r.responded_at < end)
        .group_by(r.survey, r.score)
    )
    async with engine.connect() as conn:
        counts = {(survey, score): n for survey, score, n in await conn.execute(query)}
    return domain.scores(counts)
