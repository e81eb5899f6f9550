"""Valuing customers: the spend models (Gamma-Gamma, per currency) and value-class floors
a tenant's customers are valued with, and each settled customer's value columns.

A customer is valued whenever their churn risk is scored (an event, a timer, the
rescore job), with the same P(alive), so value, value at risk and risk agree. The
class floors are cut by the rescore job from the whole population's CLVs
(``rescore``); between two cuts a customer is classed against the last floors, so a
large purchase moves them up at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle.domain import gamma_gamma, risk, value
from services.lifecycle.domain.config import Value
from services.lifecycle.domain.rfm import Rfm
from services.lifecycle.store import Customer, FittedModel, Key
from services.lifecycle.tables import lifecycle_spend_model, lifecycle_value_cutoffs
from shared.db import upsert


@dataclass(frozen=True)
class SpendModel:
    """One Gamma-Gamma fit, as ``lifecycle_spend_model`` keeps it."""

    tenant_id: str
    currency: str
    params: gamma_gamma.Params
    as_of: datetime
    customers: int
    log_likelihood: float
    fitted_at: datetime


@dataclass(frozen=True)
class Valuation:
    """What values one tenant's customers: a spend model and class floors per currency."""

    spending: Mapping[str, gamma_gamma.Params] = field(default_factory=dict)
    cutoffs: Mapping[str, value.Cutoffs] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    """A settled customer as the valuation needs them."""

    key: Key
    customer: Customer
    rfm: Rfm
    p_alive: float | None


async def latest_spend_models(conn: AsyncConnection, tenant: str) -> list[SpendModel]:
    """The tenant's latest spend model of each currency."""
    s = lifecycle_spend_model.c
    latest = select(func.max(s.id)).where(s.tenant_id == tenant).group_by(s.currency)
    rows = await conn.execute(
        select(lifecycle_spend_model).where(s.id.in_(latest)).order_by(s.currency)
    )
    return [
        SpendModel(
            r.tenant_id,
            r.currency,
            gamma_gamma.Params(r.p, r.q, r.v),
            r.as_of,
            r.customers,
            r.log_likelihood,
            r.fitted_at,
        )
        for r in rows
    ]


async def add_spend_models(conn: AsyncConnection, models: Sequence[SpendModel]) -> None:
    rows = [
        {
            "tenant_id": m.tenant_id,
            "currency": m.currency,
            "model": "gamma_gamma",
            **m.params.as_dict(),
            "as_of": m.as_of,
            "customers": m.customers,
            "log_likelihood": m.log_likelihood,
            "fitted_at": m.fitted_at,
        }
        for m in models
    ]
    if rows:
        await conn.execute(lifecycle_spend_model.insert(), rows)


async def valuations(conn: AsyncConnection, tenants: Iterable[str]) -> dict[str, Valuation]:
    """Each tenant's spend models and class floors (empty before the first fit / cut)."""
    found: dict[str, Valuation] = {}
    for tenant in set(tenants):
        models = await latest_spend_models(conn, tenant)
        c = lifecycle_value_cutoffs.c
        rows = await conn.execute(select(c.currency, c.floors).where(c.tenant_id == tenant))
        found[tenant] = Valuation(
            {m.currency: m.params for m in models},
            {r.currency: _cutoffs(r.floors) for r in rows},
        )
    return found


def _cutoffs(floors: list[list[object]]) -> value.Cutoffs:
    *ranked, last = floors
    return value.Cutoffs(tuple((str(n), int(str(f))) for n, f in ranked), str(last[0]))


async def save_cutoffs(
    conn: AsyncConnection, tenant: str, currency: str, cutoffs: value.Cutoffs, now: datetime
) -> None:
    floors = [[name, floor] for name, floor in cutoffs.floors] + [[cutoffs.last, 0]]
    row = {"tenant_id": tenant, "currency": currency, "floors": floors, "at": now}
    await upsert(conn, lifecycle_value_cutoffs, [row], key=("tenant_id", "currency"))


def worth_columns(
    scored: Collection[Scored],
    models: Mapping[str, FittedModel],
    found: Mapping[str, Valuation],
    config: Value,
    now: datetime,
) -> dict[Key, dict[str, object]]:
    """The value columns of each customer with an order in a currency; vectorised per
    tenant and currency (one model each)."""
    groups: dict[tuple[str, str], list[tuple[Scored, value.History]]] = defaultdict(list)
    for item in scored:
        spend = value.spend_of(item.customer.purchases.values())
        unit = models[item.key[0]].time_unit
        known = risk.history(item.rfm, unit, now)
        if spend.currency is None or known is None or item.p_alive is None:
            continue
        x, _, age = known
        groups[item.key[0], spend.currency].append(
            (item, value.History(x, age, item.p_alive, spend))
        )
    columns: dict[Key, dict[str, object]] = {}
    for (tenant, currency), members in groups.items():
        model, valuation = models[tenant], found.get(tenant, Valuation())
        worths = value.worth(
            model.params,
            model.time_unit,
            valuation.spending.get(currency),
            [h for _, h in members],
            config.horizon_months,
            config.monthly_discount_rate,
        )
        cut = valuation.cutoffs.get(currency)
        for (item, _), worth in zip(members, worths, strict=True):
            columns[item.key] = {
                "value_currency": currency,
                "expected_purchases": worth.expected_purchases,
                "expected_spend_minor": worth.expected_spend_minor,
                "clv_minor": worth.clv_minor,
                "value_at_risk_minor": value.value_at_risk(worth.clv_minor, item.p_alive),
                "value_class": cut.classify(worth.clv_minor) if cut else None,
            }
    return columns
