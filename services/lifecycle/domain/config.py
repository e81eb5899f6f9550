"""The lifecycle configuration: the stage machine, the silence thresholds and the risk
weights a business may change, validated once at start.

A business edits ``stages.toml``; a mistake there (an unknown stage, a trigger or
guard we do not know, thresholds in the wrong order) stops the service with a
message naming the problem, rather than moving customers by a rule nobody meant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.config import RuleFileError, load_toml, parse_toml
from shared.events.lifecycle import Stage

STAGES: tuple[Stage, ...] = (
    "prospect",
    "lead",
    "new_customer",
    "active",
    "loyal",
    "silent",
    "churned",
)
# A customer lifecycle has not met yet: the "from" of their first transition.
NO_STAGE = "none"

Trigger = Literal[
    "registered",
    "engaged",
    "first_purchase",
    "repeat_purchase",
    "refunded",
    "closed",
    "complaint_opened",
    "silence_due",
    "churn_due",
]
TRIGGERS: tuple[str, ...] = get_args(Trigger)
Guard = Literal["loyal", "no_paid_orders", "open_blocking_complaint"]
GUARDS: tuple[str, ...] = get_args(Guard)


class ConfigError(RuleFileError):
    """The configuration cannot be used; the text says what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TransitionRule(_Strict):
    """From any of ``from_stages``, on ``on``, to ``to`` — if the guard holds."""

    from_stages: tuple[str, ...] = Field(alias="from", min_length=1)
    on: str
    to: str
    guard: str | None = None

    @field_validator("from_stages")
    @classmethod
    def _known_from(cls, stages: tuple[str, ...]) -> tuple[str, ...]:
        for stage in stages:
            _known(stage, (*STAGES, NO_STAGE), "stage")
        return stages

    @field_validator("to")
    @classmethod
    def _known_to(cls, stage: str) -> str:
        return _known(stage, STAGES, "stage")

    @field_validator("on")
    @classmethod
    def _known_trigger(cls, trigger: str) -> str:
        return _known(trigger, TRIGGERS, "trigger")

    @field_validator("guard")
    @classmethod
    def _known_guard(cls, guard: str | None) -> str | None:
        return guard if guard is None else _known(guard, GUARDS, "guard")


class Silence(_Strict):
    """When a customer who stopped buying goes silent, then churned."""

    silent_after_days: float = Field(90, gt=0)
    churned_after_days: float = Field(365, gt=0)
    # A customer with a rhythm goes silent after this many of their usual gaps...
    adaptive_gap_multiple: float = Field(3.0, gt=1)
    # ...once they have shown one over at least this many purchase occasions.
    adaptive_min_occasions: int = Field(3, ge=2)

    @model_validator(mode="after")
    def _silent_before_churned(self) -> Silence:
        if self.silent_after_days >= self.churned_after_days:
            raise ValueError(
                f"silent_after_days ({self.silent_after_days}) must be less than "
                f"churned_after_days ({self.churned_after_days})"
            )
        return self


class Loyal(_Strict):
    """The loyal guard: N paid orders within a window and no open complaint that blocks it."""

    min_orders: int = Field(5, ge=2)
    window_days: float = Field(365, gt=0)
    blocking_severities: tuple[Literal["low", "medium", "high", "critical"], ...] = ("critical",)


class Risk(_Strict):
    """How the churn-risk score is put together, and when a change is announced."""

    behaviour: float = Field(60, ge=0, le=100)
    complaint: dict[str, float] = Field(
        default_factory=lambda: {"low": 3.0, "medium": 8.0, "high": 15.0, "critical": 25.0}
    )
    complaint_cap: float = Field(30, ge=0)
    nps_detractor: float = Field(15, ge=0)
    refund_each: float = Field(5, ge=0)
    refund_cap: float = Field(10, ge=0)
    tier_downgrade: float = Field(10, ge=0)
    frequency_declining: float = Field(10, ge=0)
    # ...raised when the latest gap between purchases is this many times the earlier ones.
    declining_gap_multiple: float = Field(1.5, gt=1)
    medium_from: int = Field(35, ge=1, le=100)
    high_from: int = Field(65, ge=1, le=100)
    publish_step: int = Field(10, ge=1, le=100)
    tier_order: tuple[str, ...] = ("member", "silver", "gold", "platinum")

    @model_validator(mode="after")
    def _levels_in_order(self) -> Risk:
        if self.medium_from >= self.high_from:
            raise ValueError(f"medium_from ({self.medium_from}) must be below high_from")
        return self


class Prior(_Strict):
    r: float = Field(gt=0)
    alpha: float = Field(gt=0)
    a: float = Field(gt=0)
    b: float = Field(gt=0)


class Model(_Strict):
    """The BG/NBD model: its time unit, and the prior used until a first fit."""

    time_unit: Literal["day", "week"] = "day"
    refit_hours: float = Field(24, gt=0)
    # Fader, Hardie & Lee's CDNOW estimates, rescaled to days: a sane population
    # until this business has a fit of its own.
    prior: Prior = Prior(r=0.243, alpha=30.9, a=0.793, b=2.426)


class ValueClass(_Strict):
    """One value class: its name, and the share of customers (by CLV, highest first) it
    takes; the last class takes the rest and has no share."""

    name: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    share: float | None = Field(None, gt=0, lt=1)


class Value(_Strict):
    """Lifetime value: its horizon and discount rate, the value classes, and how often
    every customer's scores are recomputed as time passes."""

    horizon_months: int = Field(12, ge=1, le=120)
    monthly_discount_rate: float = Field(0.01, ge=0, le=1)
    rescore_hours: float = Field(24, gt=0)
    classes: tuple[ValueClass, ...] = Field(
        (ValueClass(name="A", share=0.2), ValueClass(name="B", share=0.3), ValueClass(name="C")),
        min_length=1,
        max_length=10,
    )

    @model_validator(mode="after")
    def _shares_add_up(self) -> Value:
        *ranked, rest = self.classes
        if any(c.share is None for c in ranked) or rest.share is not None:
            raise ValueError(
                "every value class but the last needs a share; the last takes the rest"
            )
        if sum(c.share or 0 for c in ranked) >= 1:
            raise ValueError("the value classes' shares must add up to less than 1")
        if len({c.name for c in self.classes}) != len(self.classes):
            raise ValueError("value class names must differ")
        return self

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)


class LifecycleConfig(_Strict):
    """Everything a business may change about lifecycle, as read from ``stages.toml``."""

    transitions: tuple[TransitionRule, ...] = Field(alias="transition", min_length=1)
    reactivation_from: tuple[str, ...] = ("silent", "churned")
    silence: Silence = Silence()
    loyal: Loyal = Loyal()
    risk: Risk = Risk()
    model: Model = Model()
    value: Value = Value()

    @field_validator("reactivation_from")
    @classmethod
    def _known_reactivation(cls, stages: tuple[str, ...]) -> tuple[str, ...]:
        for stage in stages:
            _known(stage, STAGES, "stage")
        return stages


def _known(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} '{value}' (known: {', '.join(allowed)})")
    return value


def parse_config(text: str, origin: str = "lifecycle configuration") -> LifecycleConfig:
    """Read and validate a configuration; ``ConfigError`` names every problem found."""
    return parse_toml(text, LifecycleConfig, origin, ConfigError)


def load_config(path: Path) -> LifecycleConfig:
    """The configuration in ``path``, validated (raises ``ConfigError``)."""
    return load_toml(path, LifecycleConfig, "lifecycle configuration", ConfigError)
