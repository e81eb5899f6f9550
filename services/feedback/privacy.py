"""What feedback erases and exports of a customer.

Erasure blanks every free text about the customer (complaints' texts and resolutions,
answers' comments) and deletes the desk's notes on their complaints, their consent and
audience rows and the events parked for them; invitations not sent yet are suppressed.
The complaints and answers stay as counts and scores for the tenant's figures."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.tables import (
    complaint,
    complaint_note,
    consent,
    parked,
    respondent,
    segment_member,
    survey_invitation,
    survey_response,
)
from shared.erasure import delete_rows, rows_of

ERASED = "erased"


async def erase(
    conn: AsyncConnection, tenant_id: str, customers: list[uuid.UUID]
) -> dict[str, int]:
    """Blank the customers' free texts, delete their notes, consent and parked events."""
    c, r, i = complaint.c, survey_response.c, survey_invitation.c
    theirs = select(c.complaint_id).where(c.tenant_id == tenant_id, c.customer_id.in_(customers))
    notes = await conn.execute(
        delete(complaint_note).where(complaint_note.c.complaint_id.in_(theirs))
    )
    complaints = await conn.execute(
        update(complaint)
        .where(c.tenant_id == tenant_id, c.customer_id.in_(customers))
        .values(text="", resolution=None, assignee=None)
    )
    responses = await conn.execute(
        update(survey_response)
        .where(r.tenant_id == tenant_id, r.customer_id.in_(customers))
        .values(comment=None)
    )
    invitations = await conn.execute(
        update(survey_invitation)
        .where(i.tenant_id == tenant_id, i.customer_id.in_(customers), i.status == "scheduled")
        .values(status="suppressed", suppressed=ERASED)
    )
    deleted = {
        t.name: await delete_rows(conn, t, tenant_id, customers)
        for t in (consent, respondent, parked, segment_member)
    }
    return {
        "complaint_note": notes.rowcount or 0,
        "complaint": complaints.rowcount or 0,
        "survey_response": responses.rowcount or 0,
        "survey_invitation": invitations.rowcount or 0,
        **deleted,
    }


async def export(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """The customer's complaints with their notes, invitations, answers and consent."""
    held = (complaint, survey_invitation, survey_response, consent, respondent)
    found = {t.name: await rows_of(conn, t, tenant_id, customer_id) for t in held}
    ids = [row["complaint_id"] for row in found["complaint"]]
    notes = await conn.execute(select(complaint_note).where(complaint_note.c.complaint_id.in_(ids)))
    found["complaint_note"] = [dict(n) for n in notes.mappings()]
    return found
