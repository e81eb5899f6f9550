"""Lifecycle's value reads: a customer's lifetime value at any horizon and discount
rate, and what each value class holds (``shared.contracts.lifecycle``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.lifecycle import store, valuing
from services.lifecycle.domain import rfm, risk, value
from services.lifecycle.domain.config import LifecycleConfig
from services.lifecycle.tables import customer_state
from shared.contracts.lifecycle import CustomerValue, ValueClasses, ValueClassFigures


async def customer_value(
    engine: AsyncEngine,
    config: LifecycleConfig,
    key: store.Key,
    now: datetime,
    horizon_months: int,
    monthly_discount_rate: float,
) -> CustomerValue | None:
    """The customer's value over ``horizon_months`` at ``monthly_discount_rate``, from
    their orders and the tenant's current models (None: lifecycle knows no such one)."""
    c = customer_state.c
    async with engine.connect() as conn:
        value_class = (
            await conn.execute(
                select(c.value_class).where(c.tenant_id == key[0], c.customer_id == key[1])
            )
        ).first()
        if value_class is None:
            return None
        purchases = [p for _, p in await store.purchases_of(conn, [key])]
        model = (await store.current_models(conn, [key[0]], config))[key[0]]
        found = (await valuing.valuations(conn, [key[0]]))[key[0]]
    stats = rfm.rfm_of(purchases)
    spend = value.spend_of(purchases)
    known = risk.history(stats, model.time_unit, now)
    alive = risk.probability_alive(stats, model.params, model.time_unit, now)
    worth = value.Worth(0.0, 0.0, 0)
    if known is not None and alive is not None and spend.currency is not None:
        history = value.History(known[0], known[2], alive, spend)
        spending = found.spending.get(spend.currency)
        (worth,) = value.worth(
            model.params,
            model.time_unit,
            spending,
            [history],
            horizon_months,
            monthly_discount_rate,
        )
    return CustomerValue(
        p_alive=alive,
        expected_purchases=worth.expected_purchases,
        expected_average_spend_minor=round(worth.expected_spend_minor) if spend.currency else None,
        clv_minor=worth.clv_minor,
        value_at_risk_minor=value.value_at_risk(worth.clv_minor, alive),
        currency=spend.currency,
        horizon_months=horizon_months,
        monthly_discount_rate=monthly_discount_rate,
        value_class=value_class[0],
        at=now,
    )


async def value_classes(
    engine: AsyncEngine, config: LifecycleConfig, tenant: str, now: datetime
) -> ValueClasses:
    """Per currency, each configured class's customers, the CLV it holds, its share of
    the currency's CLV and its floor."""
    c = customer_state.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(c.value_currency, c.value_class, func.count(), func.sum(c.clv_minor))
            .where(c.tenant_id == tenant, c.value_class.is_not(None))
            .group_by(c.value_currency, c.value_class)
        )
        held = {(cur, name): (int(n), int(total or 0)) for cur, name, n, total in rows}
        found = (await valuing.valuations(conn, [tenant]))[tenant]
    figures = []
    for currency in sorted({cur for cur, _ in held}):
        total = sum(clv for (cur, _), (_, clv) in held.items() if cur == currency)
        cut = found.cutoffs.get(currency)
        floors = dict(cut.floors) if cut else {}
        for name in config.value.class_names:
            customers, clv = held.get((currency, name), (0, 0))
            figures.append(
                ValueClassFigures(
                    name=name,
                    currency=currency,
                    customers=customers,
                    clv_minor=clv,
                    share_of_value=clv / total if total else 0.0,
                    floor_minor=floors.get(name, 0 if cut else None),
                )
            )
    return ValueClasses(as_of=now, classes=figures)
