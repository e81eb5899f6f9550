"""Lifecycle's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.lifecycle import analytics, modelfit, sheets, value_views, views
from services.lifecycle.domain.stages import StageMachine
from services.lifecycle.settings import LifecycleSettings
from shared.contracts.lifecycle import (
    ChurnModel,
    ChurnRisk,
    Cohorts,
    CustomerCursor,
    CustomerLifecycle,
    CustomerLimit,
    CustomerOrder,
    CustomerPage,
    CustomerValue,
    FitRequest,
    Funnel,
    FunnelAsOf,
    FunnelConversion,
    HorizonMonths,
    MonthlyDiscountRate,
    RiskFilter,
    StageFilter,
    ValueClasses,
    ValueClassFilter,
    Winbacks,
    WindowEnd,
    WindowStart,
)
from shared.cursors import decode_id
from shared.problems import Problem
from shared.rulebook import Rulebook
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.tabular import wants_csv

# This service's runtime, typed by its settings.
LifecycleRuntime = Runtime[LifecycleSettings, Rulebook[StageMachine]]
RuntimeDep = Annotated[LifecycleRuntime, Depends(get_runtime)]


async def machine_of(runtime: LifecycleRuntime, tenant: str) -> StageMachine:
    """The tenant's stage machine in force (its own, else the installation's)."""
    return await runtime.resources.current(runtime.db.engine, tenant)


router = APIRouter(prefix="/v1", tags=["lifecycle"])


def _unknown(customer_id: uuid.UUID) -> Problem:
    return Problem(404, "customer-not-found", f"Lifecycle knows no customer {customer_id}.")


@router.get("/customers/{customer_id}/lifecycle", response_model_by_alias=True)
async def get_customer_lifecycle(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> CustomerLifecycle:
    """The customer's stage, since when, and every transition with its cause."""
    won_back_from = (await machine_of(runtime, tenant)).config.reactivation_from
    found = await views.customer_lifecycle(runtime.db.engine, tenant, customer_id, won_back_from)
    if found is None:
        raise _unknown(customer_id)
    return found


@router.get("/customers/{customer_id}/churn-risk")
async def get_churn_risk(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> ChurnRisk:
    """The customer's churn-risk score, level and reasons ranked by weight, with the RFM
    statistics behind them."""
    found = await views.customer_risk(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise _unknown(customer_id)
    return found


@router.get("/lifecycle/funnel", response_model=Funnel)
async def get_funnel(
    runtime: RuntimeDep, tenant: TenantDep, request: Request, as_of: FunnelAsOf = None
) -> Funnel | Response:
    """How many customers stand in each lifecycle stage, now or as of an instant."""
    found = await views.funnel(runtime.db.engine, tenant, as_of, runtime.clock.now())
    return sheets.funnel(found) if wants_csv(request) else found


@router.get("/lifecycle/customers")
async def list_customers(
    runtime: RuntimeDep,
    tenant: TenantDep,
    stage: StageFilter = None,
    risk_level: RiskFilter = None,
    limit: CustomerLimit = 50,
    cursor: CustomerCursor = None,
    order: CustomerOrder = "customer_id",
    value_class: ValueClassFilter = None,
) -> CustomerPage:
    """A page of customers by stage and/or risk level, for the service desk; by value at
    risk, for a retention team that works the most valuable first."""
    after = decode_id(cursor) if cursor else None
    return await views.customers(
        runtime.db.engine,
        tenant,
        stage=stage,
        risk_level=risk_level,
        limit=limit,
        after=after,
        order=order,
        value_class=value_class,
    )


@router.get("/customers/{customer_id}/value")
async def get_customer_value(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    horizon_months: HorizonMonths = None,
    monthly_discount_rate: MonthlyDiscountRate = None,
) -> CustomerValue:
    """The customer's expected purchases, expected spend, lifetime value and class."""
    config = (await machine_of(runtime, tenant)).config
    found = await value_views.customer_value(
        runtime.db.engine,
        config,
        (tenant, customer_id),
        runtime.clock.now(),
        horizon_months or config.value.horizon_months,
        config.value.monthly_discount_rate
        if monthly_discount_rate is None
        else monthly_discount_rate,
    )
    if found is None:
        raise _unknown(customer_id)
    return found


@router.get("/lifecycle/value-classes", response_model=ValueClasses)
async def get_value_classes(
    runtime: RuntimeDep, tenant: TenantDep, request: Request
) -> ValueClasses | Response:
    """Per currency, each value class's customers, the value it holds and its floor."""
    config, now = (await machine_of(runtime, tenant)).config, runtime.clock.now()
    found = await value_views.value_classes(runtime.db.engine, config, tenant, now)
    return sheets.value_classes(found) if wants_csv(request) else found


@router.post("/lifecycle/model/fit")
async def fit_model(runtime: RuntimeDep, tenant: TenantDep, request: FitRequest) -> ChurnModel:
    """Fit the churn model on every customer's purchase history up to ``as_of``."""
    try:
        config, clock = (await machine_of(runtime, tenant)).config, runtime.clock
        fitted, spending = await modelfit.fit_model(
            runtime.db, config, clock, tenant, request.as_of
        )
    except modelfit.FitRejected as error:
        raise Problem(422, error.slug, str(error)) from error
    return views.model_answer(fitted, spending)


@router.get("/lifecycle/model")
async def get_model(runtime: RuntimeDep, tenant: TenantDep) -> ChurnModel:
    """The churn model scoring this tenant's customers now."""
    found = await views.current_model(runtime.db.engine, tenant)
    if found is None:
        raise Problem(404, "model-not-fitted", "No churn model has been fitted yet; POST one.")
    return found


def _window(
    runtime: LifecycleRuntime,
    start: datetime | None,
    end: datetime | None,
    default: timedelta,
) -> tuple[datetime, datetime]:
    end = end or runtime.clock.now()
    start = start or end - default
    if start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    return start, end


@router.get("/lifecycle/winbacks", response_model=Winbacks)
async def get_winbacks(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Winbacks | Response:
    """Customers won back in [from, to) (default: the last 30 days) and their revenue since."""
    start, end = _window(runtime, start, end, timedelta(days=30))
    won_back_from = (await machine_of(runtime, tenant)).config.reactivation_from
    found = await analytics.winbacks(runtime.db.engine, tenant, start, end, won_back_from)
    return sheets.winbacks(found) if wants_csv(request) else found


@router.get("/lifecycle/funnel/conversion", response_model=FunnelConversion)
async def get_conversion(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> FunnelConversion | Response:
    """Conversion between funnel stages in [from, to) (default: the last 30 days), and
    the median time customers stayed in each stage."""
    start, end = _window(runtime, start, end, timedelta(days=30))
    found = await analytics.conversion(runtime.db.engine, tenant, start, end)
    return sheets.conversion(found) if wants_csv(request) else found


@router.get("/lifecycle/cohorts", response_model=Cohorts)
async def get_cohorts(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Cohorts | Response:
    """Retention by month of first purchase, for first purchases in [from, to) (default:
    the last 365 days)."""
    start, end = _window(runtime, start, end, timedelta(days=365))
    now = runtime.clock.now()
    found = await analytics.cohorts(runtime.db.engine, tenant, start, end, now)
    return sheets.cohorts(found) if wants_csv(request) else found
