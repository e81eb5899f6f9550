"""Lifecycle's read side: a customer's stage history and churn risk, the funnel, the
service desk's lists, and the current model, each as the API answers it
(``shared.contracts.lifecycle``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.lifecycle import store
from services.lifecycle.domain.config import STAGES
from services.lifecycle.store import StoredModel
from services.lifecycle.tables import customer_state, stage_history
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
    StageCause,
)


async def customer_lifecycle(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> CustomerLifecycle | None:
    """The customer's stage, since when, and every transition, oldest first."""
    s, h = customer_state.c, stage_history.c
    async with engine.connect() as conn:
        state = (
            await conn.execute(
                select(s.stage, s.stage_since).where(
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
    return CustomerLifecycle(stage=state.stage, since=state.stage_since, history=history)


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
) -> CustomerPage:
    """A page of customers in a stage and/or at a risk level, by customer id; a full page
    names the last one as the cursor of the next."""
    c = customer_state.c
    query = select(
        c.customer_id, c.stage, c.stage_since, c.risk_score, c.risk_level, c.last_purchase_at
    ).where(c.tenant_id == tenant_id)
    if stage:
        query = query.where(c.stage == stage)
    if risk_level:
        query = query.where(c.risk_level == risk_level)
    if after:
        query = query.where(c.customer_id > after)
    async with engine.connect() as conn:
        rows = await conn.execute(query.order_by(c.customer_id).limit(limit))
        items = [
            CustomerListItem(
                customer_id=r.customer_id,
                stage=r.stage,
                since=r.stage_since,
                risk_score=r.risk_score,
                risk_level=r.risk_level,
                last_purchase_at=r.last_purchase_at,
            )
            for r in rows
        ]
    next_cursor = str(items[-1].customer_id) if len(items) == limit else None
    return CustomerPage(items=items, next_cursor=next_cursor)


async def current_model(engine: AsyncEngine, tenant_id: str) -> ChurnModel | None:
    """The tenant's latest fitted churn model."""
    async with engine.connect() as conn:
        stored = await store.latest_model(conn, tenant_id)
    return model_answer(stored) if stored else None


def model_answer(stored: StoredModel) -> ChurnModel:
    """A fitted model as the API shows it."""
    p = stored.params
    return ChurnModel(
        model=stored.model,
        params=ModelParams(r=p.r, alpha=p.alpha, a=p.a, b=p.b),
        time_unit=stored.time_unit,
        as_of=stored.as_of,
        customers=stored.customers,
        log_likelihood=stored.log_likelihood,
        fitted_at=stored.fitted_at,
    )
