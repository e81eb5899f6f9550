"""Erased customers, as the API sees them from the moment an erasure is accepted.

Profile forgets a person in the request that erases them; the other services erase
their part when the announcement reaches them, a second or so later. Meanwhile their
routes would still answer for the customer. So the gateway keeps the ids it erased (the
customer's and those merged into it: ids only, nothing personal) and answers 404 for
any route of theirs from then on, whichever service would have answered.

The same record tells every gateway replica to drop the subject keys it cached
(``sealing``): a key profile destroyed must not seal anything more. A replica looks at
most once a second, so for that second at most it may still seal under the old key,
and what it sealed then reads as erased.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from services.gateway.tables import erased_customer
from shared.contracts.privacy import ErasureJob
from shared.db import insert_ignoring_conflicts
from shared.problems import Problem
from shared.sealing import KeyCache
from shared.uow import Database


async def record(db: Database, tenant_id: str, job: ErasureJob, now: datetime) -> None:
    """Remember the job's customers as erased (a repeated record changes nothing)."""
    rows = [
        {"tenant_id": tenant_id, "customer_id": c, "erasure_id": job.erasure_id, "erased_at": now}
        for c in [job.customer_id, *job.merged_ids]
    ]
    async with db.unit_of_work() as uow:
        await insert_ignoring_conflicts(uow.conn, erased_customer, rows)
        await uow.commit()


async def refuse_if_erased(db: Database, tenant_id: str, customer_id: Any) -> None:
    """A 404 for a route about a customer this tenant erased; nothing otherwise (an id
    that is no UUID is left to the route's own validation)."""
    try:
        wanted = uuid.UUID(str(customer_id))
    except ValueError:
        return
    e = erased_customer.c
    async with db.engine.connect() as conn:
        erasure = await conn.scalar(
            select(e.erasure_id).where(e.tenant_id == tenant_id, e.customer_id == wanted)
        )
    if erasure is not None:
        raise Problem(
            404,
            "customer-erased",
            f"Customer {wanted} was erased (erasure {erasure}); nothing about them is "
            "served any more.",
        )


class ErasureWatch:
    """Drops a key cache when any replica recorded an erasure since the last look."""

    def __init__(self, db: Database, cache: KeyCache[Any], interval: float = 1.0) -> None:
        self.cache, self._db, self._interval = cache, db, interval
        self._looked = float("-inf")
        self._latest: datetime | None = None

    async def fresh(self) -> None:
        """Look (at most once per ``interval``) and drop the cache if something changed."""
        now = time.monotonic()
        if now - self._looked < self._interval:
            return
        self._looked = now
        async with self._db.engine.connect() as conn:
            latest = await conn.scalar(select(func.max(erased_customer.c.erased_at)))
        if latest != self._latest:
            self.cache.clear()
            self._latest = latest

    def erased_here(self) -> None:
        """This replica erased someone: drop the cache now, not at the next look."""
        self.cache.clear()
        self._looked = float("-inf")
