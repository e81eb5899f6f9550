"""Lifecycle's repository: set-based reads and writes of customer state, orders, timers
and models. It flushes and never commits; the caller's unit of work does.

Rows come back typed: a customer as the batch folds it (``Customer``), a due timer
(``DueTimer``), a fitted model (``StoredModel``); rows written are dicts of column
values, as SQLAlchemy takes them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, desc, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle import watermarks
from services.lifecycle.domain.bgnbd import Params
from services.lifecycle.domain.config import LifecycleConfig
from services.lifecycle.domain.rfm import Purchase, Rfm
from services.lifecycle.domain.risk import ChurnScore
from services.lifecycle.domain.stages import CustomerState
from services.lifecycle.tables import (
    customer_state,
    lifecycle_model,
    lifecycle_purchase,
    lifecycle_timer,
    lifecycle_watermark,
)
from shared.db import keys_in, upsert
from shared.events.lifecycle import Stage

Key = tuple[str, uuid.UUID]
# The value columns of a customer with nothing to value (no order with a currency).
NO_WORTH: Mapping[str, object] = {
    "value_currency": None,
    "expected_purchases": None,
    "expected_spend_minor": None,
    "clv_minor": None,
    "value_at_risk_minor": None,
    "value_class": None,
}


@dataclass
class Customer:
    """One customer's state, orders and last announced risk, as a batch folds them."""

    state: CustomerState = field(default_factory=CustomerState)
    purchases: dict[str, Purchase] = field(default_factory=dict)
    announced: tuple[int, str] | None = None
    changed_orders: set[str] = field(default_factory=set)
    announced_class: str | None = None


@dataclass(frozen=True)
class FittedModel:
    """What scores a tenant's customers: the model's parameters, in their time unit."""

    params: Params
    time_unit: str


@dataclass(frozen=True)
class StoredModel:
    """One fit of the churn model, as ``lifecycle_model`` keeps it."""

    tenant_id: str
    model: str
    params: Params
    time_unit: str
    as_of: datetime  # fitted on the purchases up to this instant
    customers: int
    log_likelihood: float
    fitted_at: datetime


@dataclass(frozen=True)
class DueTimer:
    """A customer's time-based transition (``kind``: silence or churn) that is due, and
    how far in time the tenant's timers may fire now (``until``: ``watermarks``)."""

    tenant_id: str
    customer_id: uuid.UUID
    kind: str
    due_at: datetime
    until: datetime


async def load_customers(
    conn: AsyncConnection, keys: Collection[Key], *, skip_locked: bool = False
) -> dict[Key, Customer]:
    """The customers of ``keys`` that lifecycle knows, their rows locked for this
    transaction (``skip_locked``: leave out those another transaction holds)."""
    if not keys:
        return {}
    rows = await conn.execute(
        select(customer_state)
        .where(keys_in(conn, [customer_state.c.tenant_id, customer_state.c.customer_id], keys))
        .with_for_update(skip_locked=skip_locked)
    )
    customers = {(r["tenant_id"], r["customer_id"]): _customer(r) for r in rows.mappings()}
    for key, order in await purchases_of(conn, keys):
        customers.setdefault(key, Customer()).purchases[order.order_id] = order
    return customers


async def purchases_of(conn: AsyncConnection, keys: Collection[Key]) -> list[tuple[Key, Purchase]]:
    """The orders of the customers of ``keys`` (no lock: for reads)."""
    p = lifecycle_purchase.c
    rows = await conn.execute(
        select(lifecycle_purchase).where(keys_in(conn, [p.tenant_id, p.customer_id], keys))
    )
    return [
        (
            (r.tenant_id, r.customer_id),
            Purchase(
                r.order_id,
                r.purchased_at,
                r.amount_minor,
                r.refunded_minor,
                r.state,
                r.currency,
                r.refunded_at,
            ),
        )
        for r in rows
    ]


def _customer(row: RowMapping) -> Customer:
    return customer_of(dict(row))


def customer_of(row: Mapping[str, Any]) -> Customer:
    """A customer from its state row (or a merge's copy of it), without its orders."""
    state = CustomerState(
        stage=cast(Stage, row["stage"]),
        stage_since=row["stage_since"],
        reactivations=row["reactivations"],
        open_complaints=dict(row["open_complaints"] or {}),
        nps_detractor=bool(row["nps_detractor"]),
        tier_downgraded=bool(row["tier_downgraded"]),
    )
    announced = None
    if row["risk_announced_score"] is not None:
        announced = (row["risk_announced_score"], row["risk_announced_level"])
    return Customer(state=state, announced=announced, announced_class=row["value_announced_class"])


def state_row(
    key: Key,
    customer: Customer,
    rfm: Rfm,
    risk: ChurnScore | None,
    now: datetime,
    worth: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The customer_state row of a folded customer (``worth``: its value columns)."""
    s = customer.state
    return {
        **(worth or NO_WORTH),
        "value_announced_class": customer.announced_class,
        "tenant_id": key[0],
        "customer_id": key[1],
        "stage": s.stage,
        "stage_since": s.stage_since,
        "reactivations": s.reactivations,
        "open_complaints": dict(s.open_complaints),
        "nps_detractor": s.nps_detractor,
        "tier_downgraded": s.tier_downgraded,
        "orders": rfm.orders,
        "revenue_minor": rfm.revenue_minor,
        "refunded_minor": rfm.refunded_minor,
        "refunds": rfm.refunds,
        "first_purchase_at": rfm.first_purchase_at,
        "last_purchase_at": rfm.last_purchase_at,
        "occasions": rfm.occasions,
        "usual_gap_days": rfm.usual_gap_days,
        "last_gap_days": rfm.last_gap_days,
        "earlier_gap_days": rfm.earlier_gap_days,
        "risk_score": risk.score if risk else None,
        "risk_level": risk.level if risk else None,
        "risk_reasons": [r.__dict__ for r in risk.reasons] if risk else None,
        "p_alive": risk.p_alive if risk else None,
        "risk_at": now if risk else None,
        "risk_announced_score": customer.announced[0] if customer.announced else None,
        "risk_announced_level": customer.announced[1] if customer.announced else None,
        "updated_at": now,
    }


async def save(
    conn: AsyncConnection, customers: Mapping[Key, Customer], states: Sequence[Mapping[str, object]]
) -> None:
    """Write the folded customers: their state rows and the orders that changed."""
    await upsert(conn, customer_state, states, key=("tenant_id", "customer_id"))
    orders = [
        {
            "tenant_id": key[0],
            "customer_id": key[1],
            "order_id": p.order_id,
            "purchased_at": p.at,
            "amount_minor": p.amount_minor,
            "refunded_minor": p.refunded_minor,
            "state": p.state,
            "currency": p.currency,
            "refunded_at": p.refunded_at,
        }
        for key, customer in customers.items()
        for order_id, p in customer.purchases.items()
        if order_id in customer.changed_orders
    ]
    await upsert(conn, lifecycle_purchase, orders, key=("tenant_id", "customer_id", "order_id"))


async def set_timers(
    conn: AsyncConnection, timers: Mapping[Key, tuple[str, datetime] | None]
) -> None:
    """Make each customer's timer row what their state asks for (none: no row)."""
    cleared = [k for k, t in timers.items() if t is None]
    if cleared:
        t = lifecycle_timer.c
        await conn.execute(
            delete(lifecycle_timer).where(keys_in(conn, [t.tenant_id, t.customer_id], cleared))
        )
    rows = [
        {"tenant_id": k[0], "customer_id": k[1], "kind": t[0], "due_at": t[1]}
        for k, t in timers.items()
        if t is not None
    ]
    await upsert(conn, lifecycle_timer, rows, key=("tenant_id", "customer_id"))


async def due_timers(
    conn: AsyncConnection,
    now: datetime,
    limit: int,
    tenant: str | None = None,
    quiet_since: datetime | None = None,
) -> list[DueTimer]:
    """Due timers, locked with their customers' rows; a timer or a customer another
    transaction holds (another replica's sweep, a consumer) is skipped, not waited for.

    Both are locked at once: a sweep that held a timer whose customer a consumer holds
    would make the consumer wait for the whole sweep when it comes to write the timer.
    ``quiet_since``: of a tenant whose events arrived since then, only the timers its
    event-time watermark has passed are due (``watermarks``)."""
    t, c, w = lifecycle_timer.c, customer_state.c, lifecycle_watermark.c
    query = (
        select(t.tenant_id, t.customer_id, t.kind, t.due_at, w.event_time, w.seen_at)
        .join(customer_state, (c.tenant_id == t.tenant_id) & (c.customer_id == t.customer_id))
        .outerjoin(lifecycle_watermark, w.tenant_id == t.tenant_id)
        .where(t.due_at <= now)
    )
    if quiet_since is not None:
        query = query.where(
            or_(w.tenant_id.is_(None), w.seen_at <= quiet_since, t.due_at <= w.event_time)
        )
    if tenant is not None:
        query = query.where(t.tenant_id == tenant)
    locked = query.order_by(t.due_at).limit(limit)
    rows = await conn.execute(
        locked.with_for_update(skip_locked=True, of=[lifecycle_timer, customer_state])
    )
    return [
        DueTimer(
            r.tenant_id,
            r.customer_id,
            r.kind,
            r.due_at,
            watermarks.fires_until(now, quiet_since, r.event_time, r.seen_at),
        )
        for r in rows
    ]


async def current_models(
    conn: AsyncConnection, tenants: Iterable[str], config: LifecycleConfig
) -> dict[str, FittedModel]:
    """Each tenant's latest fitted model, or the configured prior until one is fitted."""
    models: dict[str, FittedModel] = {}
    prior = FittedModel(Params(**config.model.prior.model_dump()), config.model.time_unit)
    for tenant in set(tenants):
        stored = await latest_model(conn, tenant)
        models[tenant] = FittedModel(stored.params, stored.time_unit) if stored else prior
    return models


async def latest_model(conn: AsyncConnection, tenant: str) -> StoredModel | None:
    """The tenant's latest fit, or None before the first."""
    m = lifecycle_model.c
    query = (
        select(lifecycle_model)
        .where(m.tenant_id == tenant)
        .order_by(desc(m.fitted_at), desc(m.id))
        .limit(1)
    )
    row = (await conn.execute(query)).mappings().first()
    return _model(row) if row else None


async def add_model(conn: AsyncConnection, fitted: StoredModel) -> None:
    """Keep a fit: from now on it scores the tenant's customers."""
    row = {
        "tenant_id": fitted.tenant_id,
        "model": fitted.model,
        **fitted.params.as_dict(),
        "time_unit": fitted.time_unit,
        "as_of": fitted.as_of,
        "customers": fitted.customers,
        "log_likelihood": fitted.log_likelihood,
        "fitted_at": fitted.fitted_at,
    }
    await conn.execute(lifecycle_model.insert(), [row])


def _model(row: RowMapping) -> StoredModel:
    return StoredModel(
        tenant_id=row["tenant_id"],
        model=row["model"],
        params=Params(row["r"], row["alpha"], row["a"], row["b"]),
        time_unit=row["time_unit"],
        as_of=row["as_of"],
        customers=row["customers"],
        log_likelihood=row["log_likelihood"],
        fitted_at=row["fitted_at"],
    )
