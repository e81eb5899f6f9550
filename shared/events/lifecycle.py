"""Events lifecycle publishes on ``crm.lifecycle``."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.bounds import Name, Note
from shared.events.payload import Payload

Stage = Literal["prospect", "lead", "new_customer", "active", "loyal", "silent", "churned"]
RiskLevel = Literal["low", "medium", "high"]


class StageCause(Payload):
    kind: Literal["event", "timer"]
    ref: Name = Field(description="The event id that moved the stage, or the timer's name")


class StageChanged(Payload):
    """The customer moved from one lifecycle stage to another."""

    from_stage: Stage | None = Field(default=None, alias="from")
    to_stage: Stage = Field(alias="to")
    at: AwareDatetime
    cause: StageCause
    reactivation: bool = False


class RiskReason(Payload):
    code: Name
    weight: float
    detail: Note


class ChurnRiskChanged(Payload):
    """The customer's churn-risk score moved enough to matter."""

    score: int = Field(ge=0, le=100)
    level: RiskLevel
    reasons: list[RiskReason] = Field(max_length=32)
    at: AwareDatetime


class ValueClassChanged(Payload):
    """The customer's value class (A/B/C by lifetime value, as configured) changed."""

    from_class: Name | None = None
    to_class: Name | None = Field(description="None: nothing to value any more")
    clv_minor: int | None = Field(ge=0, description="Lifetime value over the configured horizon")
    currency: Name | None = None
    at: AwareDatetime
