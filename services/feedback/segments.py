"""Segment membership as profile announces it, for satisfaction grouped by segment.

Profile decides membership (``segment.entered`` / ``segment.exited``); feedback keeps
who is in which segment now. Events of one customer come in order (their partition key),
so within a batch the last event of a (customer, segment) decides, and the batch is
applied with two statements whatever its size. Membership is folded on the ids the
events name, before merges map anything to a survivor: a merged-away customer's exit
must not take the survivor out of its segments.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, tuple_

from services.feedback.tables import segment_member
from shared.db import insert_ignoring_conflicts
from shared.events.profile import SegmentEntered, SegmentExited
from shared.subscription import Received
from shared.uow import UnitOfWork

FOLLOWED = (SegmentEntered, SegmentExited)


async def fold(uow: UnitOfWork, batch: Sequence[Received[Any]]) -> None:
    """Keep each (customer, segment) as the batch's last event about it says."""
    last: dict[tuple[str, uuid.UUID, str], Received[Any]] = {}
    for received in batch:
        if isinstance(received.payload, FOLLOWED):
            tenant_id, customer_id = received.customer
            last[(tenant_id, customer_id, received.payload.segment_id)] = received
    if not last:
        return
    m = segment_member.c
    await uow.conn.execute(
        delete(segment_member).where(tuple_(m.tenant_id, m.customer_id, m.segment_id).in_(last))
    )
    entered = [
        {
            "tenant_id": tenant_id,
            "customer_id": customer_id,
            "segment_id": segment_id,
            "name": r.payload.name,
            "entered_at": r.payload.at,
        }
        for (tenant_id, customer_id, segment_id), r in last.items()
        if isinstance(r.payload, SegmentEntered)
    ]
    await insert_ignoring_conflicts(uow.conn, segment_member, entered)
