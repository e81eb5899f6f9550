"""Lifecycle's read side: a customer's stage history and churn risk, the funnel, the
service desk's lists, and the current model, each as the API answers it
(``shared.contracts.lifecycle``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.lifecycle import store, valuing
from services.lifecycle.domain.config import STAGES
from services.lifecycle.store import StoredModel
from services.lifecycle.tables import customer_state, stage_history
from services.lifecycle.valuing import SpendModel as SpendModelRow
from shared.contracts.lifecycle import (
    ChurnModel,
    ChurnRisk,
    CustomerLifecycle,
    CustomerListItem,
    CustomerPage,
    Funnel,
    HistoryEntry,
    ModelParams,
    Reason,
    Rfm,
    SpendModel,
    SpendParams,
    StageCause,
)


async def customer_lifecycle(
    engine: AsyncEngine,
    tenant_id: str,
    customer_id: uuid.UUID,
    reactivation_from: Collection[str] = (),
) -> CustomerLifecycle | None:
    """The customer's stage, since when, every transition (oldest first), and how often
    and when last they were won back (from a stage of ``reactivation_from``)."""
    s, h = customer_state.c, stage_history.c
    async with engine.connect() as conn:
        state = (
            await conn.execute(
                select(s.stage, s.stage_since, s.reactivations).where(
                    s.tenant_id == tenant_id, s.customer_id == customer_id
                )
            )
        ).first()
        if state is None:
            return None
        moves = await conn.execute(
            select(h.from_stage, h.to_stage, h.at, h.cause_kind, h.cause_ref)
            .where(h.tenant_id == tenant_id, h.customer_id == customer_id)
            .order_by(h.at, h.id)
        )
        history = [
            HistoryEntry(
                from_stage=m.from_stage,
                to_stage=m.to_stage,
                at=m.at,
                cause=StageCause(kind=m.cause_kind, ref=m.cause_ref),
            )
            for m in moves
        ]
    won_back = [
        m.at
        for m in history
        if m.from_stage in reactivation_from and m.to_stage not in ("silent", "churned")
    ]
    return CustomerLifecycle(
        stage=state.stage,
        since=state.stage_since,
        history=history,
        reactivations=state.reactivations,
        last_reactivated_at=max(won_back, default=None),
    )


async def customer_risk(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> ChurnRisk | None:
    """The customer's churn risk with its reasons, and the RFM statistics behind it."""
    s = customer_state.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(customer_state).where(s.tenant_id == tenant_id, s.customer_id == customer_id)
            )
        ).first()
    if row is None:
        return None
    return ChurnRisk(
        score=row.risk_score,
        level=row.risk_level,
        p_alive=row.p_alive,
        reasons=[Reason.model_validate(r) for r in row.risk_reasons or []],
        at=row.risk_at,
        rfm=Rfm.model_validate(row, from_attributes=True),
    )


async def funnel(
    engine: AsyncEngine, tenant_id: str, as_of: datetime | None, now: datetime
) -> Funnel:
    """How many customers stand in each stage now, or as of an instant (from the history)."""
    async with engine.connect() as conn:
        if as_of is None:
            query = (
                select(customer_state.c.stage, func.count())
                .where(customer_state.c.tenant_id == tenant_id)
                .group_by(customer_state.c.stage)
            )
        else:
            h = stage_history.c
            latest = (
                select(
                    h.to_stage,
                    func.row_number()
                    .over(partition_by=h.customer_id, order_by=(h.at.desc(), h.id.desc()))
                    .label("n"),
                )
                .where(h.tenant_id == tenant_id, h.at <= as_of)
                .subquery()
            )
            query = (
                select(latest.c.to_stage, func.count())
                .where(latest.c.n == 1)
                .group_by(latest.c.to_stage)
            )
        counts = {stage: n for stage, n in await conn.execute(query)}
    return Funnel(as_of=as_of or now, stages={stage: counts.get(stage, 0) for stage in STAGES})


async def customers(
    engine: AsyncEngine,
    tenant_id: str,
    *,
    stage: str | None,
    risk_level: str | None,
    limit: int,
    after: uuid.UUID | None,
    order: str = "customer_id",
    value_class: str | None = None,
) -> CustomerPage:
    """A page of customers in a stage and/or at a risk level, by customer id or by value
    at risk (highest first, then id); a full page names the last one as the cursor."""
    c = customer_state.c
    query = select(customer_state).where(c.tenant_id == tenant_id)
    if stage:
        query = query.where(c.stage == stage)
    if risk_level:
        query = query.where(c.risk_level == risk_level)
    if value_class:
        query = query.where(c.value_class == value_class)
    async with engine.connect() as conn:
        if order == "value_at_risk":
            query = await _by_value_at_risk(conn, tenant_id, query, after)
        else:
            query = query.where(c.customer_id > after) if after else query
            query = query.order_by(c.customer_id)
        rows = await conn.execute(query.limit(limit))
        items = [_list_item(r) for r in rows]
    next_cursor = str(items[-1].customer_id) if len(items) == limit else None
    return CustomerPage(items=items, next_cursor=next_cursor)


async def _by_value_at_risk(
    conn: AsyncConnection, tenant_id: str, query: Select[Any], after: uuid.UUID | None
) -> Select[Any]:
    """Highest value at risk first (none counts as 0), then by id; the cursor's customer
    is looked up for where to resume (one no longer known resumes as if worth 0)."""
    c = customer_state.c
    at_risk = func.coalesce(c.value_at_risk_minor, 0)
    if after:
        last = await conn.scalar(
            select(at_risk).where(c.tenant_id == tenant_id, c.customer_id == after)
        )
        last = last or 0
        query = query.where(or_(at_risk < last, and_(at_risk == last, c.customer_id > after)))
    return query.order_by(at_risk.desc(), c.customer_id)


def _list_item(r: Row[Any]) -> CustomerListItem:
    reasons = r.risk_reasons or []
    return CustomerListItem(
        customer_id=r.customer_id,
        stage=r.stage,
        since=r.stage_since,
        risk_score=r.risk_score,
        risk_level=r.risk_level,
        last_purchase_at=r.last_purchase_at,
        top_reason=Reason.model_validate(reasons[0]) if reasons else None,
        value_class=r.value_class,
        clv_minor=r.clv_minor,
        value_at_risk_minor=r.value_at_risk_minor,
        currency=r.value_currency,
    )


async def current_model(engine: AsyncEngine, tenant_id: str) -> ChurnModel | None:
    """The tenant's latest fitted churn model, with its spend models."""
    async with engine.connect() as conn:
        stored = await store.latest_model(conn, tenant_id)
        if stored is None:
            return None
        spending = await valuing.latest_spend_models(conn, tenant_id)
    return model_answer(stored, spending)


def model_answer(stored: StoredModel, spending: Sequence[SpendModelRow]) -> ChurnModel:
    """A fitted model as the API shows it; the main spend model is that of the currency
    fitted on most customers."""
    p = stored.params
    spend_models = [
        SpendModel(
            model="gamma_gamma",
            params=SpendParams(**m.params.as_dict()),
            customers=m.customers,
            currency=m.currency,
        )
        for m in spending
    ]
    return ChurnModel(
        model=stored.model,
        params=ModelParams(r=p.r, alpha=p.alpha, a=p.a, b=p.b),
        time_unit=stored.time_unit,
        as_of=stored.as_of,
        customers=stored.customers,
        log_likelihood=stored.log_likelihood,
        fitted_at=stored.fitted_at,
        spend_model=max(spend_models, key=lambda m: m.customers, default=None),
        spend_models=spend_models,
    )
