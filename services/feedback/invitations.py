"""Survey invitations from activity: a purchase schedules one (throttled per customer),
and an answer closes the customer's latest open invitation of its kind. Set-based: one
read and one write per batch, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update

from services.feedback import domain
from services.feedback.domain.config import Invitations
from services.feedback.tables import survey_invitation
from shared.consumer import Received
from shared.db import insert_ignoring_conflicts
from shared.events.activity import PurchaseCompleted, SurveyResponded
from shared.events.envelope import derived_id
from shared.uow import UnitOfWork

Key = tuple[str, uuid.UUID]


async def schedule_invitations(
    uow: UnitOfWork, purchases: Sequence[Received[PurchaseCompleted]], rules: Invitations
) -> None:
    """Write a due-time invitation row for each purchase that earns one; the sweep sends
    it when due. The id derives from the purchase, so a replayed purchase adds nothing."""
    if not purchases:
        return
    occasions = {
        r.event.id: domain.Occasion(r.customer, r.payload.order_id, r.event.time)
        for r in purchases
        if isinstance(r.payload, PurchaseCompleted)
    }
    latest = await _latest_due(uow, {o.key for o in occasions.values()})
    ids = {o: cause for cause, o in occasions.items()}
    planned = domain.plan_invitations(rules, occasions.values(), latest)
    await insert_ignoring_conflicts(
        uow.conn,
        survey_invitation,
        [
            {
                "invitation_id": derived_id(ids[p.occasion], f"invitation:{p.survey}"),
                "tenant_id": p.occasion.key[0],
                "customer_id": p.occasion.key[1],
                "survey": p.survey,
                "order_id": p.occasion.order_id,
                "status": "scheduled",
                "due_at": p.due_at,
            }
            for p in planned
        ],
    )


async def _latest_due(
    uow: UnitOfWork, keys: set[tuple[str, Any]]
) -> dict[tuple[Any, str], datetime]:
    """Each customer's latest invitation due time per survey kind, whatever its status:
    an invitation sent, answered or lapsed still counts against the throttle."""
    inv = survey_invitation.c
    rows = await uow.conn.execute(
        select(inv.tenant_id, inv.customer_id, inv.survey, func.max(inv.due_at))
        .where(tuple_(inv.tenant_id, inv.customer_id).in_(keys))
        .group_by(inv.tenant_id, inv.customer_id, inv.survey)
    )
    return {((t, c), s): at for t, c, s, at in rows}


async def link_answers(uow: UnitOfWork, answers: Sequence[Received[SurveyResponded]]) -> int:
    """Mark answered the latest invitation each answer responds to: sent, of the same
    kind, to the same customer, and still open when the answer was given. An answer
    nobody invited (a web form, a lapsed invitation) is kept all the same."""
    if not answers:
        return 0
    inv = survey_invitation.c
    keys = {(*r.customer, r.payload.survey) for r in answers}
    rows = await uow.conn.execute(
        select(survey_invitation)
        .where(tuple_(inv.tenant_id, inv.customer_id, inv.survey).in_(keys), inv.status == "sent")
        .order_by(inv.invited_at.desc())
        .with_for_update()
    )
    open_ones = [dict(r._mapping) for r in rows]
    answered: list[dict[str, Any]] = []
    for received in sorted(answers, key=lambda r: r.event.time):
        answer = received.payload
        at, key = received.event.time, (*received.customer, answer.survey)
        found = next((i for i in open_ones if _answers(i, key, at)), None)
        if found is not None:
            open_ones.remove(found)
            answered.append(
                {"id": found["invitation_id"], "at": at,
                 "response": derived_id(received.event.id, "response")}
            )  # fmt: skip
    if answered:
        await uow.conn.execute(
            update(survey_invitation)
            .where(inv.invitation_id == bindparam("id"))
            .values(
                status="answered", answered_at=bindparam("at"), response_id=bindparam("response")
            ),
            answered,
        )
    return len(answered)


def _answers(invitation: dict[str, Any], key: tuple[str, uuid.UUID, str], at: datetime) -> bool:
    owner = (invitation["tenant_id"], invitation["customer_id"], invitation["survey"])
    return owner == key and invitation["invited_at"] <= at < invitation["expires_at"]
