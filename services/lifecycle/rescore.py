"""Fresh scores: every customer's p_alive, churn risk, CLV and value class recomputed as
time passes and after every refit, with no event needed.

A score is due when it is older than ``value.rescore_hours`` or than the tenant's
latest fit (``risk_at`` is the due time, indexed). The job takes due customers a
batch at a time under ``FOR UPDATE SKIP LOCKED`` (a customer a consumer holds is
skipped, not waited for, and comes back next pass), settles them as the consumers
do, and announces only what really changed: a churn risk that moved by the publish
step or changed level, a value class that changed.

After the pass it cuts the value classes' floors anew from the CLVs of each
currency; the customers a new floor moves to another class are made due and settled
in the same pass, so each class change is announced, not written silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle import store, valuing
from services.lifecycle.domain import value
from services.lifecycle.domain.config import Value
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.settling import settle
from services.lifecycle.store import Key
from services.lifecycle.tables import customer_state, lifecycle_model
from shared.clock import Clock
from shared.cursors import EPOCH
from shared.rulebook import Rulebook
from shared.sweeps import Swept, drain
from shared.uow import Database

# The score time that makes a customer due at once (the rescore then writes the real one).
RESCORE_NOW = EPOCH


async def rescore_due(
    db: Database,
    machines: StageMachine | Rulebook[StageMachine],
    clock: Clock,
    batch_size: int = 500,
    tenant: str | None = None,
) -> Swept:
    """Rescore every customer whose score is due (of one tenant, or all), each tenant by
    its own machine (``machines``: one for all, or each tenant's in force); how many were
    ``rescored``."""
    async with db.engine.connect() as conn:
        tenants = [tenant] if tenant else await _tenants(conn)
    total = Swept()
    for one in tenants:
        machine = (
            await machines.current(db.engine, one) if isinstance(machines, Rulebook) else machines
        )
        batch = partial(_batch, db, machine, clock, batch_size, one)
        total += await drain(batch)
        if await _recut(db, machine.config.value, one, clock.now()):
            total += await drain(batch)
    return Swept(total.counts)


async def _tenants(conn: AsyncConnection) -> list[str]:
    return list(await conn.scalars(select(customer_state.c.tenant_id).distinct()))


async def _batch(
    db: Database, machine: StageMachine, clock: Clock, limit: int, tenant: str
) -> Swept:
    now = clock.now()
    async with db.unit_of_work() as uow:
        due_by = await _due_by(uow.conn, tenant, now, machine.config.value)
        keys = await _due(uow.conn, tenant, due_by, limit)
        if not keys:
            return Swept({"rescored": 0})
        customers = await store.load_customers(uow.conn, keys, skip_locked=True)
        await settle(uow, customers, {}, machine, clock, [], rescoring=True)
        await uow.commit()
    return Swept({"rescored": len(customers)}, more=len(keys) == limit)


async def _due_by(conn: AsyncConnection, tenant: str, now: datetime, config: Value) -> datetime:
    """Scores older than this are due: the rescore period, or the latest fit if newer."""
    m = lifecycle_model.c
    fitted = await conn.scalar(select(func.max(m.fitted_at)).where(m.tenant_id == tenant))
    period = now - timedelta(hours=config.rescore_hours)
    return max(period, fitted) if fitted else period


async def _due(conn: AsyncConnection, tenant: str, due_by: datetime, limit: int) -> list[Key]:
    c = customer_state.c
    rows = await conn.execute(
        select(c.tenant_id, c.customer_id)
        .where(c.tenant_id == tenant, c.risk_at < due_by)
        .order_by(c.risk_at)  # the (tenant_id, risk_at) index, no sort
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(r.tenant_id, r.customer_id) for r in rows]


async def _recut(db: Database, config: Value, tenant: str, now: datetime) -> bool:
    """Cut each currency's class floors from the CLVs; make due the customers a changed
    floor moves to another class. Whether any did."""
    c = customer_state.c
    moved = 0
    async with db.unit_of_work() as uow:
        conn = uow.conn
        found = (await valuing.valuations(conn, [tenant]))[tenant]
        valued = c.tenant_id == tenant, c.clv_minor.is_not(None)
        counts = await conn.execute(
            select(c.value_currency, func.count()).where(*valued).group_by(c.value_currency)
        )
        for currency, customers in counts.all():
            clv_at_ranks = []
            for rank in value.cutoff_ranks(customers, config):
                in_currency = select(c.clv_minor).where(*valued, c.value_currency == currency)
                query = in_currency.order_by(c.clv_minor.desc()).offset(rank).limit(1)
                clv_at_ranks.append(int(await conn.scalar(query) or 0))
            cut = value.cutoffs(config, clv_at_ranks)
            if found.cutoffs.get(currency) == cut:
                continue
            await valuing.save_cutoffs(conn, tenant, currency, cut, now)
            moved += await _make_due_if_reclassed(conn, tenant, currency, cut)
        await uow.commit()
    return moved > 0


async def _make_due_if_reclassed(
    conn: AsyncConnection, tenant: str, currency: str, cut: value.Cutoffs
) -> int:
    c = customer_state.c
    classed = case(*((c.clv_minor >= floor, name) for name, floor in cut.floors), else_=cut.last)
    result = await conn.execute(
        update(customer_state)
        .where(
            c.tenant_id == tenant,
            c.value_currency == currency,
            c.clv_minor.is_not(None),
            c.value_class.is_distinct_from(classed),
        )
        .values(risk_at=RESCORE_NOW)
    )
    return int(result.rowcount or 0)
