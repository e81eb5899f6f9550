"""Fitting the churn model: every customer's purchase occasions up to ``as_of``, the
BG/NBD maximum-likelihood fit (in a worker thread, so the event loop keeps serving),
and the fitted parameters stored for scoring; beside it, the Gamma-Gamma spend model
of each currency. Also the job that refits on a schedule. A fit makes every score
older than it due, so the rescore job (``rescore``) brings every customer up to it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle import store, valuing
from services.lifecycle.domain import bgnbd, gamma_gamma, rfm, value
from services.lifecycle.domain.config import LifecycleConfig
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.store import StoredModel
from services.lifecycle.tables import lifecycle_purchase
from shared.clock import Clock
from shared.rulebook import Rulebook
from shared.uow import Database

log = structlog.get_logger()


class FitRejected(ValueError):
    """A fit that cannot be made as asked; the text says why."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug = slug


async def fit_model(
    db: Database, config: LifecycleConfig, clock: Clock, tenant: str, as_of: datetime
) -> tuple[StoredModel, list[valuing.SpendModel]]:
    """Fit BG/NBD on the tenant's purchase occasions up to ``as_of``, and Gamma-Gamma on
    each currency's spends, and store them."""
    now = clock.now()
    if as_of > now:
        raise FitRejected(
            "as-of-in-the-future",
            f"as_of {as_of.isoformat()} is after now ({now.isoformat()}): "
            "a model can only be fitted on purchases that have happened.",
        )
    unit = config.model.time_unit
    async with db.engine.connect() as conn:
        orders = await _orders(conn, tenant, as_of)
    occasions = {c: [p.at.date() for p in bought] for c, bought in orders.items()}
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
    spending = await asyncio.to_thread(_fit_spend, orders, tenant, as_of, now)
    async with db.unit_of_work() as uow:
        await store.add_model(uow.conn, model)
        await valuing.add_spend_models(uow.conn, spending)
        await uow.commit()
    return model, spending


def _fit_spend(
    orders: dict[object, list[rfm.Purchase]], tenant: str, as_of: datetime, now: datetime
) -> list[valuing.SpendModel]:
    """Gamma-Gamma on each currency's repeat customers; a currency whose spends cannot
    identify it keeps its last fit (its customers' own means until the first)."""
    by_currency: dict[str, list[tuple[int, float]]] = {}
    for bought in orders.values():
        spend = value.spend_of(bought)
        if spend.currency is not None:
            by_currency.setdefault(spend.currency, []).append((spend.repeats, spend.repeat_mean))
    fitted = []
    for currency, rows in sorted(by_currency.items()):
        try:
            fit = gamma_gamma.fit(gamma_gamma.spends(rows))
        except gamma_gamma.NotEnoughData as error:
            log.info("spend model not fitted", tenant=tenant, currency=currency, reason=str(error))
            continue
        fitted.append(
            valuing.SpendModel(
                tenant, currency, fit.params, as_of, fit.customers, fit.log_likelihood, now
            )
        )
    return fitted


async def _orders(
    conn: AsyncConnection, tenant: str, as_of: datetime
) -> dict[object, list[rfm.Purchase]]:
    """Every order that stands up to ``as_of`` (free ones included; not those refunded in
    full), by customer."""
    p = lifecycle_purchase.c
    rows = await conn.execute(
        select(
            p.customer_id, p.order_id, p.purchased_at, p.amount_minor, p.refunded_minor, p.currency
        ).where(p.tenant_id == tenant, p.purchased_at <= as_of, p.state == rfm.BOUGHT)
    )
    orders: dict[object, list[rfm.Purchase]] = {}
    for r in rows:
        orders.setdefault(r.customer_id, []).append(
            rfm.Purchase(
                r.order_id, r.purchased_at, r.amount_minor, r.refunded_minor, currency=r.currency
            )
        )
    return orders


async def refit_stale(
    db: Database, configs: LifecycleConfig | Rulebook[StageMachine], clock: Clock
) -> None:
    """Refit every tenant whose model is missing or older than ``refit_hours`` (the
    scheduled pass of the model fit), each by its own configuration (``configs``: one
    for all, or each tenant's in force)."""
    now = clock.now()
    async with db.engine.connect() as conn:
        tenants = list(await conn.scalars(select(lifecycle_purchase.c.tenant_id).distinct()))
        latest = {t: await store.latest_model(conn, t) for t in tenants}
        if isinstance(configs, Rulebook):
            await configs.refresh(conn)
    for tenant in tenants:
        model = latest[tenant]
        config = configs.of(tenant).config if isinstance(configs, Rulebook) else configs
        max_age = timedelta(hours=config.model.refit_hours)
        if model is not None and now - model.fitted_at < max_age:
            continue
        try:
            await fit_model(db, config, clock, tenant, now)
            log.info("churn model refitted", tenant=tenant)
        except FitRejected as error:
            log.info("churn model not refitted", tenant=tenant, reason=str(error))
