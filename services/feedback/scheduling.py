"""Scheduling survey invitations from what happened to a customer: a purchase, the
resolution of their complaint (the CES follow-up), their entry into a lifecycle stage.

The tenant's survey definitions decide which occasions earn which survey, and when;
the domain throttles them per customer and survey (``invitations.plan_invitations``).
Each invitation is a due-time row with an id derived from its occasion's cause, so a
replayed event schedules nothing new; the sweep sends it when due.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from services.feedback import store
from services.feedback.domain import invitations
from services.feedback.domain.complaints import Complaint
from services.feedback.domain.config import Invitations
from services.feedback.domain.invitations import Occasion
from shared.events.envelope import derived_id
from shared.uow import UnitOfWork


async def schedule(
    uow: UnitOfWork, occasions: Mapping[Occasion, uuid.UUID], rules: Invitations
) -> None:
    """Schedule the invitations these occasions earn; ``occasions`` maps each to the id
    its invitations' ids derive from (the event, or step, that made it)."""
    if not occasions:
        return
    keys = {o.key for o in occasions}
    surveys = await store.surveys_of(uow.conn, {tenant for tenant, _ in keys}, rules)
    latest = await store.latest_invitations(uow.conn, keys)
    planned = invitations.plan_invitations(surveys, occasions.keys(), latest)
    await store.add_respondents(uow.conn, {p.occasion.key for p in planned})
    await store.add_invitations(
        uow.conn,
        [
            invitations.schedule(p, derived_id(occasions[p.occasion], f"invitation:{p.survey}"))
            for p in planned
        ],
    )


def follow_ups(resolved: list[Complaint]) -> dict[Occasion, uuid.UUID]:
    """The occasions these resolutions make: each earns its customer the CES follow-up
    (once per resolution: a reopened and resolved again complaint earns another)."""
    return {
        Occasion(c.customer, "complaint_resolved", str(c.complaint_id), c.resolved_at):
        derived_id(c.complaint_id, f"follow_up:{c.reopened}")
        for c in resolved
        if c.resolved_at is not None
    }  # fmt: skip
