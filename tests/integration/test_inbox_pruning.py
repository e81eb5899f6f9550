"""The inbox forgets event ids once Kafka's retention means they cannot come back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import FrozenClock
from shared.inbox import InboxPruner
from tests.integration.harness import INBOX


async def test_ids_older_than_the_retention_are_pruned_and_recent_ones_kept(
    engine: AsyncEngine, group: str
) -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    ages = [timedelta(days=d) for d in (30, 15, 13, 1)]
    async with engine.begin() as conn:
        await conn.execute(
            INBOX.insert(),
            [{"consumer": group, "event_id": uuid.uuid4(), "processed_at": now - a} for a in ages],
        )
    pruner = InboxPruner(engine, INBOX, FrozenClock(now), retention=timedelta(days=14))

    deleted = await pruner.prune(batch=1)  # small batches: it loops until done

    async with engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(INBOX).where(INBOX.c.consumer == group)
        )
    assert deleted == 2
    assert left == 2
