"""Time-based loyalty work from due-time rows: releases, expiries, tier reviews.

Each account carries ``next_due_at`` (its next expiry, release or tier review),
recomputed whenever it is written. The sweep takes due accounts with ``FOR
UPDATE SKIP LOCKED``, so replicas share the work without waiting on each other
or on a redemption in flight, and moves them with the same domain rules and the
same lock every other writer takes. No in-memory timers: the injected clock
decides what is due, so tests move time and a restart loses nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from services.loyalty import store
from services.loyalty.announcements import announce, happened
from services.loyalty.domain import account as accounts
from services.loyalty.domain.rules import Programme
from services.loyalty.tables import account
from shared.rulebook import Rulebook
from shared.sweeps import Swept, drain
from shared.uow import Database


async def sweep_due(
    db: Database, programmes: Rulebook[Programme], limit: int, tenant: str | None = None
) -> Swept:
    """Everything due at the clock's now, batch after batch, of one tenant (a tenant's
    admin sweeps their own accounts and sees their own counts) or of all (``None``: the
    background pass and an operator's): how many ``accounts`` and ``events``."""
    return await drain(lambda: _sweep_batch(db, programmes, limit, tenant))


async def _sweep_batch(
    db: Database, programmes: Rulebook[Programme], limit: int, tenant: str | None
) -> Swept:
    """Apply what is due to one batch of due accounts, in one transaction."""
    now = db.clock.now()
    async with db.unit_of_work() as uow:
        due = select(account.c.tenant_id, account.c.customer_id).where(account.c.next_due_at <= now)
        if tenant is not None:
            due = due.where(account.c.tenant_id == tenant)
        due = due.order_by(account.c.next_due_at).limit(limit).with_for_update(skip_locked=True)
        keys = [(r.tenant_id, r.customer_id) for r in await uow.conn.execute(due)]
        found = await store.lock_accounts(uow.conn, keys)
        await programmes.refresh(uow.conn)
        noticed = []
        for owner in {t for t, _ in found}:  # each tenant's accounts by its own programme
            programme = programmes.of(owner)
            mine = [a for (t, _), a in found.items() if t == owner]
            swept = [(a, n) for a in mine for n in accounts.sweep(a, programme, now)]
            await store.save(uow.conn, mine, [(a, n, None) for a, n in swept], programme, now)
            noticed += swept
        uow.publish(*(announce(a, n, None, happened(n, now)) for a, n in noticed))
        await uow.commit()
    return Swept({"accounts": len(keys), "events": len(noticed)}, more=len(keys) == limit)
