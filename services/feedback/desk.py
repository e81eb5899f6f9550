"""The service desk's work on one complaint, each in its own unit of work: an agent
moves it along its status machine (``domain.desk``), assigns it, or leaves a note.

A reopened complaint counts as open again: it is announced as
``crm.feedback.complaint_opened.v1`` (``reopened``: true) with the customer's open
count, so the 360 and churn risk see it, and the resolution it undoes is kept in a
note. Every change is also announced as ``crm.feedback.complaint_updated.v1`` (status
and assignee after it), from which a rebuild folds the desk's work again. Notes are
not announced: they are internal, and kept through a rebuild.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.feedback import announcements, store
from services.feedback.domain import desk
from services.feedback.domain.complaints import OPEN, RESOLVED, Complaint
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.desk import DeskStatus, Note
from shared.uow import Database, UnitOfWork

KEEP = object()  # an assignee left out of a change: kept as it is


class UnknownComplaint(Exception):
    pass


@dataclass(frozen=True)
class Change:
    """What an agent changes on a complaint of a customer of a tenant."""

    tenant_id: str
    customer_id: uuid.UUID
    complaint_id: uuid.UUID
    status: DeskStatus | None
    assignee: str | object | None  # KEEP: unchanged
    actor: str | None


async def change(db: Database, command: Change, config: FeedbackConfig) -> Complaint:
    """Apply an agent's change and return the complaint. Raises ``UnknownComplaint`` or
    ``IllegalStep`` (naming the states); nothing is written then."""
    async with db.unit_of_work() as uow:
        changed = await apply_change(uow, command, config, db.clock.now())
        await uow.commit()
    return changed


async def apply_change(
    uow: UnitOfWork, command: Change, config: FeedbackConfig, now: datetime
) -> Complaint:
    """The change made at ``now`` in ``uow``: at the desk, or again by a rebuild from
    its ``complaint_updated`` event (``services.feedback.decisions``)."""
    found = await store.lock_complaint(
        uow.conn, command.tenant_id, command.customer_id, command.complaint_id
    )
    if found is None:
        raise UnknownComplaint(command.complaint_id)
    changed = found
    if command.status is not None:
        changed = desk.move(changed, command.status, config, now)
    if command.assignee is not KEEP:
        assignee = command.assignee if isinstance(command.assignee, str) else None
        changed = desk.assign(changed, assignee)
    if changed == found:
        return changed
    await store.save_complaints(uow.conn, [changed])
    uow.publish(announcements.complaint_updated(changed, now))
    if found.status == RESOLVED and changed.status == OPEN:
        note = desk.reopening_note(found, command.actor, now)
        await store.add_notes(uow.conn, changed, [(_note_id(changed), note)])
        counts = await store.open_counts(uow.conn, {changed.customer})
        opened = counts.get(changed.customer, 1)
        uow.publish(announcements.complaint_opened(changed, opened, None, now))
    return changed


async def add_note(
    db: Database, tenant_id: str, customer_id: uuid.UUID, complaint_id: uuid.UUID, note: Note
) -> uuid.UUID:
    """Keep an agent's note on the complaint; its id. Raises ``UnknownComplaint`` or
    ``desk.TooManyNotes``."""
    async with db.unit_of_work() as uow:
        found = await store.lock_complaint(uow.conn, tenant_id, customer_id, complaint_id)
        if found is None:
            raise UnknownComplaint(complaint_id)
        desk.check_room(await store.count_notes(uow.conn, complaint_id))
        note_id = uuid.uuid4()
        await store.add_notes(uow.conn, found, [(note_id, note)])
        await uow.commit()
    return note_id


def _note_id(complaint: Complaint) -> uuid.UUID:
    """A reopening's note, once per reopening."""
    return uuid.uuid5(complaint.complaint_id, f"reopened:{complaint.reopened}")
