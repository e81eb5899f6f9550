"""Try a feedback policy on feedback's history before it goes live.

    python -m services.feedback.replay --rules NEW_FEEDBACK.toml [--tenant T]

Folds the history into two shadow databases, under the policy in force and under the
candidate, and prints how survey invitations and complaint escalations differ, with a
sample of customers who would be invited or escalated differently and why
(``services.replaying``). Allowed while the service runs: nothing live is written,
nothing published, no offset committed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback import app
from services.feedback.resources import policies_of
from services.feedback.tables import complaint, survey_invitation
from services.replaying import Replayable, main
from shared.replay_diff import Outcome, Value


async def outcome(conn: AsyncConnection, tenant: str | None) -> Outcome:
    """Each customer's invitations sent and escalations (levels reached over their
    complaints); invitations by status, and escalations in all."""
    i, c = survey_invitation, complaint
    invitations = select(i.c.tenant_id, i.c.customer_id, i.c.status, func.count().label("n"))
    invitations = invitations.group_by(i.c.tenant_id, i.c.customer_id, i.c.status)
    escalations = select(
        c.c.tenant_id, c.c.customer_id, func.sum(c.c.escalation_level).label("levels")
    ).group_by(c.c.tenant_id, c.c.customer_id)
    if tenant is not None:
        invitations = invitations.where(i.c.tenant_id == tenant)
        escalations = escalations.where(c.c.tenant_id == tenant)
    customers: dict[tuple[str, str], dict[str, Value]] = {}
    by_status: dict[str, int] = {}
    for row in await conn.execute(invitations):
        who = customers.setdefault((row.tenant_id, str(row.customer_id)), _nothing())
        by_status[row.status] = by_status.get(row.status, 0) + row.n
        if row.status != "scheduled" and row.status != "suppressed":  # sent, then answered…
            who["invitations_sent"] = int(who["invitations_sent"] or 0) + row.n
    levels = 0
    for row in await conn.execute(escalations):
        who = customers.setdefault((row.tenant_id, str(row.customer_id)), _nothing())
        who["escalations"], levels = int(row.levels or 0), levels + int(row.levels or 0)
    counts = {"invitations": by_status, "escalations": {"total": levels}}
    return Outcome(counts=counts, customers=customers)


def _nothing() -> dict[str, Value]:
    return {"invitations_sent": 0, "escalations": 0}


REPLAY = Replayable("feedback", "feedback", app.sweep, outcome, rulebook_of=policies_of)

if __name__ == "__main__":
    main(REPLAY)
