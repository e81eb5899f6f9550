"""Channel analytics: what each channel brings and how its customers fare."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.contracts.feedback import Interval, Nps


class ChannelRevenue(BaseModel):
    currency: str = Field(description="ISO 4217")
    orders: int = Field(ge=0)
    revenue_minor: int = Field(ge=0, description="Gross of refunds, in minor units")
    average_order_minor: int = Field(ge=0, description="Revenue / orders, rounded half up")


class ChannelFigures(BaseModel):
    channel: str
    customers: int = Field(ge=0, description="Customers who bought through it in the window")
    orders: int = Field(ge=0)
    revenue: list[ChannelRevenue] = Field(description="Per currency")
    complaints: int = Field(ge=0, description="Complaints filed through it")
    complaint_rate: float | None = Field(
        ge=0, le=1, description="Share of its customers who filed a complaint (any channel)"
    )
    nps: Nps = Field(description="NPS of the answers given through it, with its interval")
    preferred_by: int = Field(ge=0, description="Customers whose preferred channel it is")
    preferred_share: float | None = Field(
        ge=0, le=1, description="… as a share of the customers with a preferred channel"
    )


class ChannelAnalytics(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    channels: list[ChannelFigures]


class ComplaintGroup(BaseModel):
    group: str = Field(description="The category, severity or channel")
    opened: int = Field(ge=0, description="Complaints opened in the window")
    resolved: int = Field(ge=0)
    sla_met: int = Field(ge=0, description="Resolved by their due time")
    sla_missed: int = Field(ge=0, description="Resolved later, or still open past it")
    sla_attainment_pct: float | None = Field(ge=0, le=100, description="met / (met + missed)")
    sla_interval: Interval | None = Field(description="95 % (Wilson)")
    median_resolution_hours: float | None = Field(ge=0, description="Of the resolved ones")


class ComplaintAnalytics(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    group_by: str
    groups: list[ComplaintGroup]
