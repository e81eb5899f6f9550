"""Lifecycle routes, forwarded to the lifecycle service."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import (
    Admin,
    Reader,
    UpstreamsDep,
    failures,
    refuse_all_tenants_unless_operator,
)
from services.gateway.links import customer_reads, links
from services.gateway.names import with_names
from services.gateway.runtime import RuntimeDep
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
    StageSweep,
    ValueClasses,
    ValueClassFilter,
    Winbacks,
    WindowEnd,
    WindowStart,
)
from shared.contracts.query import Id
from shared.contracts.sweeps import AllTenants
from shared.tabular import CSV_CONTENT

router = APIRouter(prefix="/v1", tags=["lifecycle"])


@router.get(
    "/customers/{customer_id}/lifecycle",
    response_model=CustomerLifecycle,
    responses=failures(404),
)
async def get_lifecycle(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's stage and its history."""
    path = f"/v1/customers/{customer_id}/lifecycle"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get(
    "/customers/{customer_id}/churn-risk", response_model=ChurnRisk, responses=failures(404)
)
async def get_churn_risk(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's churn-risk score, level and ranked reasons, with their RFM statistics."""
    path = f"/v1/customers/{customer_id}/churn-risk"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/lifecycle/funnel", response_model=Funnel, responses=failures() | CSV_CONTENT)
async def get_funnel(
    request: Request, caller: Reader, upstreams: UpstreamsDep, as_of: FunnelAsOf = None
) -> Response:
    """How many customers stand in each stage, now or ``?as_of=``."""
    return await upstreams.forward("lifecycle", "/v1/lifecycle/funnel", caller.tenant_id, request)


@router.get(
    "/lifecycle/customers",
    response_model=CustomerPage,
    responses=failures(),
    openapi_extra=links(200, **customer_reads("$response.body#/items/0/customer_id")),
)
async def list_customers(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    stage: StageFilter = None,
    risk_level: RiskFilter = None,
    limit: CustomerLimit = 50,
    cursor: CustomerCursor = None,
    order: CustomerOrder = "customer_id",
    value_class: ValueClassFilter = None,
) -> Response:
    """A page of customers by ``stage``, ``risk_level`` and/or ``value_class`` (``limit``,
    ``cursor``), by id or, with ``order=value_at_risk``, the most valuable doubtful
    customers first; each with the name profile holds."""
    path = "/v1/lifecycle/customers"
    page = await upstreams.forward("lifecycle", path, caller.tenant_id, request)
    return await with_names(upstreams, caller.tenant_id, page)


@router.get("/customers/{customer_id}/value", response_model=CustomerValue, responses=failures(404))
async def get_customer_value(
    customer_id: Id,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    horizon_months: HorizonMonths = None,
    monthly_discount_rate: MonthlyDiscountRate = None,
) -> Response:
    """The customer's expected purchases, expected spend per purchase, lifetime value over
    ``horizon_months`` discounted at ``monthly_discount_rate``, and value class."""
    path = f"/v1/customers/{customer_id}/value"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get(
    "/lifecycle/value-classes", response_model=ValueClasses, responses=failures() | CSV_CONTENT
)
async def get_value_classes(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """Per currency, each value class's customers, the lifetime value it holds and its floor."""
    path = "/v1/lifecycle/value-classes"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/lifecycle/model", response_model=ChurnModel, responses=failures(404))
async def get_model(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """The churn model scoring the tenant's customers (404 until one is fitted)."""
    return await upstreams.forward("lifecycle", "/v1/lifecycle/model", caller.tenant_id, request)


@router.post("/lifecycle/model/fit", response_model=ChurnModel, responses=failures(400, 413))
async def fit_model(
    body: FitRequest,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Fit the churn model on purchase histories up to ``as_of`` (admin); 422 if ``as_of``
    lies after now or the histories cannot identify the model yet."""
    path = "/v1/lifecycle/model/fit"
    decision = audit.Decision(
        "lifecycle.model_fitted", "model:churn", after=audit.ANSWER, extra={"asked": body}
    )
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("lifecycle", path, caller.tenant_id, request),
    )


@router.post("/lifecycle/sweep", response_model=StageSweep, responses=failures())
async def sweep(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    all_tenants: AllTenants = False,
) -> Response:
    """Run the caller's tenant's time-based transitions due now (every tenant's with
    ``?all_tenants=true``, operator only); how many customers moved."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    path = "/v1/lifecycle/sweep"
    return await audit.forwarded(
        runtime.db,
        caller,
        audit.swept("lifecycle", all_tenants),
        lambda: upstreams.forward("lifecycle", path, caller.tenant_id, request),
    )


@router.get("/lifecycle/winbacks", response_model=Winbacks, responses=failures() | CSV_CONTENT)
async def get_winbacks(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Response:
    """Customers won back in [from, to) (default: the last 30 days) and their revenue since,
    per currency; 422 if ``from`` lies after ``to``."""
    path = "/v1/lifecycle/winbacks"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get(
    "/lifecycle/funnel/conversion",
    response_model=FunnelConversion,
    responses=failures() | CSV_CONTENT,
)
async def get_conversion(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Response:
    """Conversion between consecutive funnel stages in [from, to) (default: the last 30
    days) and the median days customers stayed in each stage; 422 if ``from`` lies after
    ``to``."""
    path = "/v1/lifecycle/funnel/conversion"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)


@router.get("/lifecycle/cohorts", response_model=Cohorts, responses=failures() | CSV_CONTENT)
async def get_cohorts(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> Response:
    """Retention by month of first purchase, for first purchases in [from, to) (default:
    the last 365 days), month by month up to now; 422 if ``from`` lies after ``to``."""
    path = "/v1/lifecycle/cohorts"
    return await upstreams.forward("lifecycle", path, caller.tenant_id, request)
