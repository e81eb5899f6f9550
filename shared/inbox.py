"""The inbox: which events a consumer has already applied.

Claiming is one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` in the handler's
own transaction: the ids it returns are new, the rest were applied before. The
primary key decides, not a check-then-insert, so two replicas cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import insert_new


async def claim(
    conn: AsyncConnection,
    inbox: Table,
    consumer: str,
    event_ids: Sequence[uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    """Record ``event_ids`` as applied by ``consumer``; return those not seen before."""
    if not event_ids:
        return set()
    rows = [{"consumer": consumer, "event_id": e, "processed_at": now} for e in event_ids]
    return await insert_new(conn, inbox, rows, returning="event_id")
