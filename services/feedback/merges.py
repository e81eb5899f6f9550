"""Merges and their undo, as profile announces them, applied to complaints and surveys.

A merge moves the merged customer's complaints, survey invitations and answers to the
survivor (one history; each remembers whose it was), and its id lives on as the
survivor's; the undo moves back every one whose origin is the merged customer (or one
merged into it before, or that came through its id meanwhile: ``claim_arrivals``).
Consent and survey fatigue stay with each customer as profile and the invitations
decide them. A merge applied or undone before changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update

from services.feedback.tables import complaint, customer_merge, survey_invitation, survey_response
from shared import merges as shared
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.envelope import derived_id
from shared.events.payload import Payload
from shared.events.profile import CustomersMerged, CustomersUnmerged
from shared.subscription import Received
from shared.uow import UnitOfWork

MERGES: tuple[type[Payload], ...] = (CustomersMerged, CustomersUnmerged)
MOVED = (complaint, survey_invitation, survey_response)


async def apply(uow: UnitOfWork, batch: Sequence[Received[Payload]]) -> None:
    """Apply the batch's merges and undos in order (dated by their events, so a replay
    records the same)."""
    for received in batch:
        tenant, at = received.event.tenantid, received.event.time
        match received.payload:
            case CustomersMerged() as merged:
                await _merge(uow, tenant, merged, at)
            case CustomersUnmerged() as undone:
                await _unmerge(uow, tenant, undone, at)


async def _merge(uow: UnitOfWork, tenant: str, event: CustomersMerged, now: datetime) -> None:
    merge_id = uuid.UUID(event.merge_id)
    if await shared.recorded(uow.conn, customer_merge, tenant, merge_id) is not None:
        return
    survivor, merged = uuid.UUID(event.survivor_id), uuid.UUID(event.merged_id)
    await shared.move_to_survivor(uow.conn, MOVED, tenant, merged, survivor)
    await uow.conn.execute(
        customer_merge.insert().values(
            tenant_id=tenant,
            merge_id=merge_id,
            survivor_id=survivor,
            merged_id=merged,
            merged_at=now,
        )
    )


async def _unmerge(uow: UnitOfWork, tenant: str, event: CustomersUnmerged, now: datetime) -> None:
    merge_id = uuid.UUID(event.merge_id)
    row = await shared.recorded(uow.conn, customer_merge, tenant, merge_id)
    if row is None or row["undone_at"] is not None:
        return
    survivor, merged = row["survivor_id"], row["merged_id"]
    await shared.move_back(uow.conn, MOVED, tenant, survivor, merged, event.restored)
    m = customer_merge.c
    await uow.conn.execute(
        update(customer_merge)
        .where(m.tenant_id == tenant, m.merge_id == merge_id)
        .values(undone_at=now)
    )


async def claim_arrivals(uow: UnitOfWork, batch: Sequence[Received[Payload]]) -> None:
    """What an event that came through a merged-away customer's id added to its survivor
    (a complaint, an answer and the recovery case it opened, a purchase's invitations)
    is that customer's: an undo gives it back (``shared.merges.claim``)."""
    for r in batch:
        match r.payload:
            case _ if r.merged_from is None:
                continue
            case ComplaintFiled(complaint_ref=ref):
                await shared.claim(uow.conn, complaint, r, complaint.c.complaint_ref == ref)
            case SurveyResponded():
                answered = derived_id(r.event.id, "response")
                for table in (survey_response, complaint):
                    await shared.claim(uow.conn, table, r, table.c.response_id == answered)
            case PurchaseCompleted(order_id=order):
                i = survey_invitation.c
                which = (i.occasion == "purchase", i.occasion_ref == order)
                await shared.claim(uow.conn, survey_invitation, r, *which)
