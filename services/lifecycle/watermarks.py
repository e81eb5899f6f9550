"""Each tenant's event-time watermark: the latest event time its partners' activity has
reached here, and when an event last arrived.

Partners may send a year of history in a minute. A silence or churn timer of such a
back-dated customer is due long before the wall clock's now, so a sweep by the wall
clock would fire it between two of the customer's events still on their way, and the
next purchase would count as a win-back that never happened; whether it does would
depend on how fast the history came in. So while a tenant's events flow, a timer fires
only once the tenant's events have come past its due time (the consumer fires the ones a
customer's own next event passes, in event time, before it); once they stop arriving
for a while (``lifecycle_watermark_quiet_seconds``), the wall clock rules again, so a
quiet tenant's customers still go silent. The bound holds for every timer a sweep fires,
not only the first: a customer whose silence the watermark has passed goes silent, and
their churn (due months later, perhaps before the wall clock's now) waits for the
watermark too, or their next purchase, still on its way, would find them churned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle.tables import lifecycle_watermark
from shared.db import insert_ignoring_conflicts


async def advance(conn: AsyncConnection, latest: Mapping[str, datetime], now: datetime) -> None:
    """Move each tenant's watermark up to the latest event time of ``latest`` (never back:
    a late event does not rewind it) and mark now as when its events last arrived."""
    w = lifecycle_watermark.c
    rows = [{"tenant_id": t, "event_time": at, "seen_at": now} for t, at in latest.items()]
    await insert_ignoring_conflicts(conn, lifecycle_watermark, rows)
    for tenant, at in sorted(latest.items()):  # in one order: two replicas never deadlock
        await conn.execute(
            update(lifecycle_watermark)
            .where(w.tenant_id == tenant)
            .values(event_time=case((w.event_time < at, at), else_=w.event_time), seen_at=now)
        )


def fires_until(
    now: datetime,
    quiet_since: datetime | None,
    event_time: datetime | None,
    seen_at: datetime | None,
) -> datetime:
    """How far in time a sweep at ``now`` may fire a tenant's timers: up to the tenant's
    watermark (``event_time``) while its events arrived after ``quiet_since``, else now."""
    if quiet_since is None or event_time is None or seen_at is None or seen_at <= quiet_since:
        return now
    return min(now, event_time)
