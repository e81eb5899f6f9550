"""Customers, as profile answers them: a partner reference's customer, and the 360."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from shared.contracts.records import ConsentState
from shared.events.bounds import Text
from shared.events.lifecycle import RiskLevel, RiskReason, Stage


class CustomerRefFound(BaseModel):
    customer_id: uuid.UUID
    matches: list[uuid.UUID] = Field(
        default_factory=list,
        description="Every customer holding the e-mail or phone looked up, oldest first "
        "(several until an operator merges them); customer_id is the first",
    )


class ChurnRiskSummary(BaseModel):
    score: int = Field(ge=0, le=100)
    level: RiskLevel
    reasons: list[RiskReason]


class LoyaltySummary(BaseModel):
    tier: str = Field(description="A tier of the loyalty programme (rules.toml)")
    points_balance: int
    points_pending: int


class FeedbackSummary(BaseModel):
    last_nps: int | None = Field(ge=0, le=10)
    open_complaints: int = Field(ge=0)


class PurchaseStats(BaseModel):
    orders: int = Field(ge=0)
    revenue_minor: int
    currency: str | None
    last_purchase_at: datetime | None


class ValueSummary(BaseModel):
    value_class: str | None = Field(description="A/B/C by lifetime value (as configured)")
    clv_minor: int | None = Field(ge=0)
    currency: str | None


class Customer360(BaseModel):
    """Identity, stage, churn risk, loyalty, feedback and purchase statistics."""

    customer_id: uuid.UUID = Field(description="The survivor's id, for a merged customer")
    name: str | None
    email: str | None
    phone: str | None
    stage: Stage | None
    stage_since: datetime | None
    churn_risk: ChurnRiskSummary | None
    loyalty: LoyaltySummary
    feedback: FeedbackSummary
    stats: PurchaseStats
    updated_at: datetime
    value: ValueSummary | None = Field(None, description="None until lifecycle values them")
    preferred_channel: str | None = Field(
        None,
        description="Where they buy and answer most, among channels they have not withdrawn "
        "(from feedback)",
    )
    reactivations: int = Field(0, ge=0, description="Times lifecycle won them back")
    version: int = Field(
        default=1, ge=1, description="The record's version; its ETag (quoted) is PATCH's If-Match"
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="The declared attributes the customer has a value for"
    )
    consent: list[ConsentState] = Field(
        default_factory=list,
        description="The current decision per channel and purpose (none: not granted)",
    )


# The lookup's query: a partner system and its own id for the customer.
LookupSource = Annotated[Text | None, Query(min_length=1, max_length=64, examples=["pos"])]
LookupExternalId = Annotated[Text | None, Query(min_length=1, max_length=128, examples=["C-1001"])]
