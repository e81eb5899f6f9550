"""Lifecycle's answers: stages and their history, churn risk, the funnel, the model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from shared.cursors import IdCursor
from shared.events.lifecycle import RiskLevel, Stage
from shared.instants import Instant


class StageCause(BaseModel):
    kind: Literal["event", "timer"]
    ref: str = Field(description="The event id that moved the stage, or the timer's name")


class HistoryEntry(BaseModel):
    from_stage: Stage | None = Field(serialization_alias="from")
    to_stage: Stage = Field(serialization_alias="to")
    at: datetime
    cause: StageCause


class CustomerLifecycle(BaseModel):
    stage: Stage
    since: datetime
    history: list[HistoryEntry]
    reactivations: int = Field(0, ge=0, description="Times they were won back")
    last_reactivated_at: datetime | None = Field(None, description="When they were last won back")


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
    score: int | None = Field(ge=0, le=100)
    level: RiskLevel | None
    p_alive: float | None = Field(ge=0, le=1)
    reasons: list[Reason]
    at: datetime | None
    rfm: Rfm


class Funnel(BaseModel):
    as_of: datetime
    stages: dict[Stage, int] = Field(description="How many customers stand in each stage")


class CustomerListItem(BaseModel):
    customer_id: uuid.UUID
    name: str | None = Field(None, description="From profile (the gateway adds it to each page)")
    stage: Stage
    since: datetime
    risk_score: int | None = Field(ge=0, le=100)
    risk_level: RiskLevel | None
    last_purchase_at: datetime | None
    top_reason: Reason | None = Field(None, description="The churn risk's weightiest reason")
    value_class: str | None = None
    clv_minor: int | None = Field(None, ge=0)
    value_at_risk_minor: int | None = Field(None, ge=0, description="clv_minor × (1 − p_alive)")
    currency: str | None = Field(None, description="The currency of clv_minor")


class CustomerPage(BaseModel):
    items: list[CustomerListItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class StageSweep(BaseModel):
    moved: int = Field(ge=0)
    as_of: datetime


class FitRequest(BaseModel):
    as_of: Instant = Field(description="Fit on purchases up to this instant (not after now)")


class ModelParams(BaseModel):
    r: float
    alpha: float
    a: float
    b: float


class SpendParams(BaseModel):
    p: float
    q: float
    v: float = Field(description="In minor units of the currency")


class SpendModel(BaseModel):
    """Gamma-Gamma (Fader, Hardie & Lee 2005) fitted on the repeat customers' mean
    spend per purchase occasion in one currency."""

    model: Literal["gamma_gamma"]
    params: SpendParams
    customers: int = Field(ge=0, description="Customers with a repeat purchase it was fitted on")
    currency: str


class ChurnModel(BaseModel):
    model: Literal["bg_nbd"]
    params: ModelParams
    time_unit: Literal["day", "week"]
    as_of: datetime
    customers: int = Field(ge=0)
    log_likelihood: float
    fitted_at: datetime
    spend_model: SpendModel | None = Field(
        None, description="The spend model of the currency most customers buy in"
    )
    spend_models: list[SpendModel] = Field(
        default_factory=list, description="The spend model of every currency"
    )


class CustomerValue(BaseModel):
    """What the customer is worth: expected purchases over the horizon (BG/NBD) times
    their expected spend per purchase (Gamma-Gamma, given their own repeat spends),
    month by month, discounted monthly."""

    p_alive: float | None = Field(ge=0, le=1)
    expected_purchases: float = Field(ge=0)
    expected_average_spend_minor: int | None = Field(ge=0)
    clv_minor: int = Field(ge=0)
    value_at_risk_minor: int = Field(ge=0, description="clv_minor × (1 − p_alive)")
    currency: str | None
    horizon_months: int
    monthly_discount_rate: float
    value_class: str | None = Field(description="The class of the configured horizon's CLV")
    at: datetime


class ValueClassFigures(BaseModel):
    name: str
    currency: str
    customers: int = Field(ge=0)
    clv_minor: int = Field(ge=0, description="The lifetime value the class holds")
    share_of_value: float = Field(ge=0, le=1)
    floor_minor: int | None = Field(ge=0, description="The least CLV of the class")


class ValueClasses(BaseModel):
    as_of: datetime
    classes: list[ValueClassFigures]


# The lists' and the funnel's queries.
StageFilter = Annotated[Stage | None, Query(description="Only customers in this stage")]
RiskFilter = Annotated[RiskLevel | None, Query(description="Only customers at this risk level")]
CustomerLimit = Annotated[int, Query(ge=1, le=500)]
CustomerCursor = IdCursor
ValueClassFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=16,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Only customers of this value class (as configured: A, B, C by default)",
    ),
]
CustomerOrder = Annotated[
    Literal["customer_id", "value_at_risk"],
    Query(
        description="customer_id (default), or value_at_risk: the most valuable doubtful "
        "customers first (the cursor is the last customer's id either way)"
    ),
]
HorizonMonths = Annotated[int | None, Query(ge=1, le=120, description="Default: configured")]
MonthlyDiscountRate = Annotated[
    float | None, Query(ge=0, le=1, description="Per month; default: configured")
]
FunnelAsOf = Annotated[
    Instant | None, Query(description="Count the stages as of this instant; default: now")
]


class WinbackRevenue(BaseModel):
    currency: str
    customers: int = Field(ge=0, description="Won-back buyers in this currency")
    revenue_minor: int = Field(ge=0, description="Their revenue since won back, net")


class Winbacks(BaseModel):
    """Customers won back (from a stage of ``reactivation_from`` back to buying) in
    [from, to), and their revenue since their first win-back in the window."""

    from_: datetime = Field(serialization_alias="from")
    to: datetime
    customers: int = Field(ge=0)
    winbacks: int = Field(ge=0, description="Win-backs (a customer may count twice)")
    revenue_since: list[WinbackRevenue]


WindowStart = Annotated[
    Instant | None, Query(alias="from", description="Start of [from, to); default: to − 30 days")
]
WindowEnd = Annotated[
    Instant | None, Query(alias="to", description="End of [from, to); default: now")
]


class StageConversion(BaseModel):
    from_stage: Stage = Field(serialization_alias="from")
    to_stage: Stage = Field(serialization_alias="to")
    entered: int = Field(ge=0, description="Customers who entered 'from' in the window")
    converted: int = Field(ge=0, description="Of those, who reached 'to' or beyond by its end")
    rate: float | None = Field(ge=0, le=1, description="converted / entered; none if none entered")


class StageTime(BaseModel):
    stage: Stage
    stays: int = Field(ge=0, description="Stays in the stage that ended in the window")
    median_days: float | None = Field(ge=0)


class FunnelConversion(BaseModel):
    """How customers moved down the funnel in [from, to): conversion between consecutive
    stages and how long they stayed in each."""

    from_: datetime = Field(serialization_alias="from")
    to: datetime
    conversions: list[StageConversion]
    time_in_stage: list[StageTime]


class Cohort(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="Month of first purchase (UTC)")
    customers: int = Field(ge=0)
    active: list[int] = Field(description="Cohort customers buying in month 0, 1, … after")
    retention: list[float] = Field(description="active / customers, month by month")


class Cohorts(BaseModel):
    """Retention by month of first purchase, for the cohorts whose first purchase lies in
    [from, to), up to the current month."""

    from_: datetime = Field(serialization_alias="from")
    to: datetime
    cohorts: list[Cohort]
