"""When each customer's next time-based work falls due: what a rebuild asks before it
applies a customer's event (``shared.rebuild``), so the sweep runs first where the
customer's invitation falls due, lapses or their complaint breaches before it."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.domain.complaints import OPEN_STATUSES
from services.feedback.domain.invitations import SCHEDULED, SENT
from services.feedback.tables import complaint, survey_invitation


async def next_due(
    conn: AsyncConnection, customers: Collection[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """The earliest due time of each of ``customers`` that has one (of any tenant: a
    sweep too early is harmless): a scheduled invitation's sending, a sent one's lapse,
    an open complaint's next escalation. Each part reads by the status and due indexes,
    which hold only the work still pending."""
    if not customers:
        return {}
    inv, c = survey_invitation.c, complaint.c
    ids = list(customers)
    parts = union_all(
        select(inv.customer_id, inv.due_at.label("at")).where(
            inv.status == SCHEDULED, inv.customer_id.in_(ids)
        ),
        select(inv.customer_id, inv.expires_at.label("at")).where(
            inv.status == SENT, inv.expires_at.is_not(None), inv.customer_id.in_(ids)
        ),
        select(c.customer_id, c.escalate_at.label("at")).where(
            c.status.in_(OPEN_STATUSES), c.escalate_at.is_not(None), c.customer_id.in_(ids)
        ),
    ).subquery()
    query = select(parts.c.customer_id, func.min(parts.c.at)).group_by(parts.c.customer_id)
    return {customer: at for customer, at in (await conn.execute(query)).all()}
