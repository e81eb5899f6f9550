"""Lifecycle's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.lifecycle import modelfit, sweep, views
from services.lifecycle.settings import LifecycleSettings
from shared.app import Runtime, RuntimeDep, TenantDep
from shared.cursors import InvalidCursor, decode_id, invalid_cursor
from shared.events.lifecycle import RiskLevel, Stage
from shared.instants import Instant
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["lifecycle"])


class StageCause(BaseModel):
    kind: str
    ref: str


class HistoryEntry(BaseModel):
    from_stage: str | None = Field(serialization_alias="from")
    to_stage: str = Field(serialization_alias="to")
    at: datetime
    cause: StageCause


class CustomerLifecycle(BaseModel):
    stage: str
    since: datetime
    history: list[HistoryEntry]


class Reason(BaseModel):
    code: str
    weight: float
    detail: str


class Rfm(BaseModel):
    orders: int
    revenue_minor: int
    refunded_minor: int
    refunds: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    occasions: int
    usual_gap_days: float | None
    last_gap_days: float | None


class ChurnRisk(BaseModel):
    score: int | None
    level: RiskLevel | None
    p_alive: float | None
    reasons: list[Reason]
    at: datetime | None
    rfm: Rfm


class Funnel(BaseModel):
    as_of: datetime
    stages: dict[str, int]


class CustomerListItem(BaseModel):
    customer_id: uuid.UUID
    stage: str
    since: datetime
    risk_score: int | None
    risk_level: str | None
    last_purchase_at: datetime | None


class CustomerPage(BaseModel):
    items: list[CustomerListItem]
    next_cursor: str | None


class SweepResult(BaseModel):
    moved: int
    as_of: datetime


class FitRequest(BaseModel):
    as_of: Instant


class ChurnModel(BaseModel):
    model: Literal["bg_nbd"]
    params: dict[str, float]
    time_unit: Literal["day", "week"]
    as_of: datetime
    customers: int
    log_likelihood: float
    fitted_at: datetime


def _unknown(customer_id: uuid.UUID) -> Problem:
    return Problem(404, "customer-not-found", f"Lifecycle knows no customer {customer_id}.")


@router.get("/customers/{customer_id}/lifecycle", response_model_by_alias=True)
async def get_customer_lifecycle(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> CustomerLifecycle:
    """The customer's stage, since when, and every transition with its cause."""
    found = await views.customer_lifecycle(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise _unknown(customer_id)
    history = [
        HistoryEntry(
            from_stage=h["from_stage"],
            to_stage=h["to_stage"],
            at=h["at"],
            cause=StageCause(kind=h["cause_kind"], ref=h["cause_ref"]),
        )
        for h in found["history"]
    ]
    return CustomerLifecycle(stage=found["stage"], since=found["since"], history=history)


@router.get("/customers/{customer_id}/churn-risk")
async def get_churn_risk(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> ChurnRisk:
    """The customer's churn-risk score, level and reasons ranked by weight, with the RFM
    statistics behind them."""
    row = await views.customer_risk(runtime.db.engine, tenant, customer_id)
    if row is None:
        raise _unknown(customer_id)
    return ChurnRisk(
        score=row["risk_score"],
        level=row["risk_level"],
        p_alive=row["p_alive"],
        reasons=[Reason(**r) for r in row["risk_reasons"] or []],
        at=row["risk_at"],
        rfm=Rfm.model_validate(row),
    )


@router.get("/lifecycle/funnel")
async def get_funnel(
    runtime: RuntimeDep, tenant: TenantDep, as_of: Instant | None = None
) -> Funnel:
    """How many customers stand in each lifecycle stage, now or as of an instant."""
    stages = await views.funnel(runtime.db.engine, tenant, as_of)
    return Funnel(as_of=as_of or runtime.clock.now(), stages=stages)


@router.get("/lifecycle/customers")
async def list_customers(
    runtime: RuntimeDep,
    tenant: TenantDep,
    stage: Stage | None = None,
    risk_level: RiskLevel | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> CustomerPage:
    """A page of customers by stage and/or risk level, for the service desk."""
    try:
        after = decode_id(cursor) if cursor else None
    except InvalidCursor as error:
        raise invalid_cursor() from error
    rows = await views.customers(
        runtime.db.engine, tenant, stage=stage, risk_level=risk_level, limit=limit, after=after
    )
    items = [CustomerListItem(**r, since=r["stage_since"]) for r in rows]
    next_cursor = str(items[-1].customer_id) if len(items) == limit else None
    return CustomerPage(items=items, next_cursor=next_cursor)


AllTenants = Annotated[
    bool,
    Query(description="Sweep every tenant, not only the caller's (the gateway asks `operator`)"),
]


@router.post("/lifecycle/sweep")
async def run_sweep(
    runtime: RuntimeDep, tenant: TenantDep, all_tenants: AllTenants = False
) -> SweepResult:
    """Run the tenant's time-based transitions due at the service's now (every tenant's
    with ``all_tenants=true``); how many customers moved."""
    machine = _settings(runtime).machine
    tenants = None if all_tenants else tenant
    moved = await sweep.sweep_due(runtime.db, machine, runtime.clock, tenant=tenants)
    return SweepResult(moved=moved, as_of=runtime.clock.now())


@router.post("/lifecycle/model/fit")
async def fit_model(runtime: RuntimeDep, tenant: TenantDep, request: FitRequest) -> ChurnModel:
    """Fit the churn model on every customer's purchase history up to ``as_of``."""
    try:
        config, clock = _settings(runtime).machine.config, runtime.clock
        row = await modelfit.fit_model(runtime.db, config, clock, tenant, request.as_of)
    except modelfit.FitRejected as error:
        raise Problem(422, error.slug, str(error)) from error
    return _model(row)


@router.get("/lifecycle/model")
async def get_model(runtime: RuntimeDep, tenant: TenantDep) -> ChurnModel:
    """The churn model scoring this tenant's customers now."""
    row = await views.current_model(runtime.db.engine, tenant)
    if row is None:
        raise Problem(404, "model-not-fitted", "No churn model has been fitted yet; POST one.")
    return _model(row)


def _model(row: dict[str, Any] | Any) -> ChurnModel:
    return ChurnModel(
        model=row["model"],
        params={k: row[k] for k in ("r", "alpha", "a", "b")},
        time_unit=row["time_unit"],
        as_of=row["as_of"],
        customers=row["customers"],
        log_likelihood=row["log_likelihood"],
        fitted_at=row["fitted_at"],
    )


def _settings(runtime: Runtime) -> LifecycleSettings:
    return cast(LifecycleSettings, runtime.settings)
