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

from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback import announcements, store
from services.feedback.domain import complaints, invitations
from services.feedback.domain.complaints import Complaint, Escalated
from services.feedback.domain.config import Escalation, FeedbackConfig
from shared.sweeps import Swept, drain
from shared.uow import Database


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
        due = await store.due_invitations(uow.conn, now, limit, tenant)
        lapsing = await store.lapsing_invitations(uow.conn, now, limit, tenant)
        sent = [invitations.send(i, config.invitations, now) for i in due]
        lapsed = [invitations.expire(i) for i in lapsing]
        await store.save_invitations(uow.conn, [*sent, *lapsed])
        escalated = await _escalate(uow.conn, config.escalation, now, limit, tenant)
        uow.publish(
            *(announcements.survey_invited(i) for i in sent),
            *(announcements.complaint_escalated(c, step, now) for c, step in escalated),
        )
        await uow.commit()
    counts = {"invited": len(sent), "expired": len(lapsed), "escalated": len(escalated)}
    return Swept(counts, more=max(counts.values()) >= limit)


async def _escalate(
    conn: AsyncConnection, policy: Escalation, now: datetime, limit: int, tenant: str | None
) -> list[tuple[Complaint, Escalated]]:
    """Escalate the complaints whose next escalation is due, a level each; one at the
    top level keeps it, with nothing more due. The escalations made."""
    stepped = [
        complaints.escalate_complaint(c, policy, now)
        for c in await store.due_escalations(conn, now, limit, tenant)
    ]
    await store.save_complaints(conn, [c for c, _ in stepped])
    return [(c, step) for c, step in stepped if step is not None]
