"""Time-based feedback work from due-time rows: survey invitations falling due, lapsing
invitations, and complaints breaching their SLA.

Each pass takes due rows a batch at a time with ``FOR UPDATE SKIP LOCKED`` and moves
them past their due time in the same transaction as the events it writes, so replicas
share the work without waiting on each other and nothing is sent or escalated twice.
No in-memory timers: the injected clock decides what is due, so tests move time and a
restart loses nothing. The same code answers ``POST /v1/feedback/sweep``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from services.feedback import domain
from services.feedback.domain.config import FeedbackConfig
from services.feedback.tables import complaint, survey_invitation
from shared.events import CloudEvent, new_event
from shared.events.envelope import derived_id
from shared.events.feedback import ComplaintEscalated, SurveyInvited
from shared.sweeps import Swept, drain
from shared.uow import Database

SOURCE = "/crm/feedback"


async def sweep_due(
    db: Database, config: FeedbackConfig, limit: int, tenant: str | None = None
) -> Swept:
    """Everything due at the clock's now, batch after batch: of one tenant (a tenant's
    admin sweeps their own work and sees their own counts) or of all (``None``: the
    background pass and an operator's): how many ``invited``, ``expired``, ``escalated``."""
    return await drain(lambda: _sweep_batch(db, config, limit, tenant))


async def _sweep_batch(
    db: Database, config: FeedbackConfig, limit: int, tenant: str | None
) -> Swept:
    now = db.clock.now()
    async with db.unit_of_work() as uow:
        invited = await _send_invitations(uow.conn, now, config, limit, tenant)
        expired = await _expire_invitations(uow.conn, now, limit, tenant)
        escalated = await _escalate_complaints(uow.conn, now, config, limit, tenant)
        uow.publish(*invited, *escalated)
        await uow.commit()
    counts = {"invited": len(invited), "expired": expired, "escalated": len(escalated)}
    return Swept(counts, more=max(counts.values()) >= limit)


async def _due(conn: Any, query: Any, table: Any, tenant: str | None) -> list[dict[str, Any]]:
    """The due rows of ``query`` (of ``tenant`` only, when named), locked; rows another
    replica holds are skipped, not waited for."""
    if tenant is not None:
        query = query.where(table.c.tenant_id == tenant)
    return [dict(r._mapping) for r in await conn.execute(query.with_for_update(skip_locked=True))]


async def _send_invitations(
    conn: Any, now: datetime, config: FeedbackConfig, limit: int, tenant: str | None
) -> list[CloudEvent]:
    inv = survey_invitation.c
    due = await _due(
        conn,
        select(survey_invitation)
        .where(inv.status == "scheduled", inv.due_at <= now)
        .order_by(inv.due_at)
        .limit(limit),
        survey_invitation,
        tenant,
    )
    if not due:
        return []
    expires_at = now + config.expires_after
    await conn.execute(
        update(survey_invitation)
        .where(inv.invitation_id == bindparam("id"))
        .values(status="sent", invited_at=now, expires_at=expires_at),
        [{"id": row["invitation_id"]} for row in due],
    )
    return [_invited(row, now, expires_at) for row in due]


async def _expire_invitations(conn: Any, now: datetime, limit: int, tenant: str | None) -> int:
    """Lapse sent invitations nobody answered in time (no event: nothing else cares)."""
    inv = survey_invitation.c
    due = await _due(
        conn,
        select(inv.invitation_id).where(inv.status == "sent", inv.expires_at <= now).limit(limit),
        survey_invitation,
        tenant,
    )
    if due:
        await conn.execute(
            update(survey_invitation)
            .where(inv.invitation_id.in_([row["invitation_id"] for row in due]))
            .values(status="expired")
        )
    return len(due)


async def _escalate_complaints(
    conn: Any, now: datetime, config: FeedbackConfig, limit: int, tenant: str | None
) -> list[CloudEvent]:
    c = complaint.c
    due = await _due(
        conn,
        select(complaint)
        .where(c.status.in_(domain.OPEN_STATUSES), c.escalate_at <= now)
        .order_by(c.escalate_at)
        .limit(limit),
        complaint,
        tenant,
    )
    changes, events = [], []
    for row in due:
        step = domain.escalate(config.escalation, row["due_at"], row["escalation_level"], now)
        level = step.level if step else row["escalation_level"]
        changes.append({"id": row["complaint_id"], "level": level,
                        "status": "escalated" if step else row["status"],
                        "next": step.next_at if step else None,
                        "at": now if step else row["escalated_at"]})  # fmt: skip
        if step:
            events.append(_escalated(row, step, now))
    if changes:
        await conn.execute(
            update(complaint)
            .where(c.complaint_id == bindparam("id"))
            .values(
                status=bindparam("status"),
                escalation_level=bindparam("level"),
                escalate_at=bindparam("next"),
                escalated_at=bindparam("at"),
            ),
            changes,
        )
    return events


def _invited(row: dict[str, Any], now: datetime, expires_at: datetime) -> CloudEvent:
    customer = str(row["customer_id"])
    return new_event(
        SurveyInvited(
            invitation_id=str(row["invitation_id"]),
            survey=row["survey"],
            order_id=row["order_id"],
            invited_at=now,
            expires_at=expires_at,
        ),
        source=SOURCE,
        tenant_id=row["tenant_id"],
        key=customer,
        subject=customer,
        time=now,
        event_id=derived_id(row["invitation_id"], "survey_invited"),
    )


def _escalated(row: dict[str, Any], step: domain.Escalated, now: datetime) -> CloudEvent:
    customer = str(row["customer_id"])
    return new_event(
        ComplaintEscalated(
            complaint_id=str(row["complaint_id"]),
            complaint_ref=row["complaint_ref"],
            severity=row["severity"],
            level=step.level,
            due_at=row["due_at"],
            escalated_at=now,
            overdue_by=step.overdue_by,
        ),
        source=SOURCE,
        tenant_id=row["tenant_id"],
        key=customer,
        subject=customer,
        time=now,
        event_id=derived_id(row["complaint_id"], f"escalated:{step.level}"),
    )
