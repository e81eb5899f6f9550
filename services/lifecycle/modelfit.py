"""Fitting the churn model: every customer's purchase occasions up to ``as_of``, the
BG/NBD maximum-likelihood fit (in a worker thread, so the event loop keeps serving),
and the fitted parameters stored for scoring. Also the job that refits on a schedule."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle import store
from services.lifecycle.domain import bgnbd, rfm
from services.lifecycle.domain.config import LifecycleConfig
from services.lifecycle.store import StoredModel
from services.lifecycle.tables import lifecycle_purchase
from shared.clock import Clock
from shared.uow import Database

log = structlog.get_logger()


class FitRejected(ValueError):
    """A fit that cannot be made as asked; the text says why."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug = slug


async def fit_model(
    db: Database, config: LifecycleConfig, clock: Clock, tenant: str, as_of: datetime
) -> StoredModel:
    """Fit BG/NBD on the tenant's purchase occasions up to ``as_of`` and store it."""
    now = clock.now()
    if as_of > now:
        raise FitRejected(
            "as-of-in-the-future",
            f"as_of {as_of.isoformat()} is after now ({now.isoformat()}): "
            "a model can only be fitted on purchases that have happened.",
        )
    unit = config.model.time_unit
    async with db.engine.connect() as conn:
        occasions = await _occasions(conn, tenant, as_of)
    try:
        data = bgnbd.summarise(occasions, as_of, unit)
        fitted = await asyncio.to_thread(bgnbd.fit, data)
    except bgnbd.NotEnoughData as error:
        raise FitRejected(
            "not-enough-purchase-history", f"Cannot fit the churn model as of {as_of}: {error}."
        ) from error
    model = StoredModel(
        tenant_id=tenant,
        model="bg_nbd",
        params=fitted.params,
        time_unit=unit,
        as_of=as_of,
        customers=fitted.customers,
        log_likelihood=fitted.log_likelihood,
        fitted_at=now,
    )
    async with db.unit_of_work() as uow:
        await store.add_model(uow.conn, model)
        await uow.commit()
    return model


async def _occasions(conn: AsyncConnection, tenant: str, as_of: datetime) -> dict[object, list]:
    p = lifecycle_purchase.c
    rows = await conn.execute(
        select(p.customer_id, p.purchased_at).where(
            # every order that stands, free ones included; not those refunded in full
            p.tenant_id == tenant,
            p.purchased_at <= as_of,
            p.state == rfm.BOUGHT,
        )
    )
    return bgnbd.occasions_by_customer((r.customer_id, r.purchased_at.date()) for r in rows)


async def refit_stale(db: Database, config: LifecycleConfig, clock: Clock) -> None:
    """Refit every tenant whose model is missing or older than ``refit_hours`` (the
    scheduled pass of the model fit)."""
    now = clock.now()
    max_age = timedelta(hours=config.model.refit_hours)
    async with db.engine.connect() as conn:
        tenants = list(await conn.scalars(select(lifecycle_purchase.c.tenant_id).distinct()))
        latest = {t: await store.latest_model(conn, t) for t in tenants}
    for tenant in tenants:
        model = latest[tenant]
        if model is not None and now - model.fitted_at < max_age:
            continue
        try:
            await fit_model(db, config, clock, tenant, now)
            log.info("churn model refitted", tenant=tenant)
        except FitRejected as error:
            log.info("churn model not refitted", tenant=tenant, reason=str(error))
