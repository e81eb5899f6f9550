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
    stage: Stage
    since: datetime
    risk_score: int | None = Field(ge=0, le=100)
    risk_level: RiskLevel | None
    last_purchase_at: datetime | None


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


class ChurnModel(BaseModel):
    model: Literal["bg_nbd"]
    params: ModelParams
    time_unit: Literal["day", "week"]
    as_of: datetime
    customers: int = Field(ge=0)
    log_likelihood: float
    fitted_at: datetime


# The lists' and the funnel's queries.
StageFilter = Annotated[Stage | None, Query(description="Only customers in this stage")]
RiskFilter = Annotated[RiskLevel | None, Query(description="Only customers at this risk level")]
CustomerLimit = Annotated[int, Query(ge=1, le=500)]
CustomerCursor = IdCursor
FunnelAsOf = Annotated[
    Instant | None, Query(description="Count the stages as of this instant; default: now")
]
