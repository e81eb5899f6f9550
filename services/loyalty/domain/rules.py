"""The loyalty programme as configuration: earning rules, tiers, expiry, refunds,
goodwill and offers, read from a TOML file and validated before the service starts.

A rule file that names a tier nobody defined, a campaign that ends before it
starts or a currency that is not ISO 4217 stops the service with a message
naming the problem, before anything is written.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.config import RuleFileError, load_toml, parse_toml
from shared.money import Currency

Multiplier = Annotated[Decimal, Field(ge=0, le=100)]
Points = Annotated[int, Field(ge=0, le=10**9)]


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(Rules):
    name: Annotated[str, Field(min_length=1, max_length=32)]
    min_spend_minor: Annotated[int, Field(ge=0)]


class Tiers(Rules):
    """Tiers from rolling qualifying spend in one currency; upgrade at once, downgrade
    only at the end of the qualification period."""

    currency: Currency
    qualification_days: Annotated[int, Field(ge=1, le=3660)] = 365
    levels: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending_from_zero(self) -> Tiers:
        names = [t.name for t in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique, got {names}")
        spends = [t.min_spend_minor for t in self.levels]
        if spends[0] != 0 or spends != sorted(spends) or len(set(spends)) != len(spends):
            raise ValueError("tier min_spend_minor must start at 0 and strictly increase")
        return self

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.levels]


class Campaign(Rules):
    """A window in which purchases earn an extra multiplier (optionally only some tiers)."""

    name: Annotated[str, Field(min_length=1, max_length=40)]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    multiplier: Multiplier
    tiers: list[str] | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Campaign:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"campaign '{self.name}' ends before it starts")
        return self

    def applies(self, at: datetime, tier: str) -> bool:
        return self.starts_at <= at < self.ends_at and (self.tiers is None or tier in self.tiers)


class EarningRules(Rules):
    points_per_unit: dict[str, Multiplier] = Field(
        default_factory=dict, description="points per whole currency unit, by ISO 4217 code"
    )
    default_points_per_unit: Multiplier = Decimal(1)
    tier_multipliers: dict[str, Multiplier] = Field(default_factory=dict)
    channel_multipliers: dict[str, Multiplier] = Field(default_factory=dict)
    category_multipliers: dict[str, Multiplier] = Field(default_factory=dict)
    first_purchase_bonus: Points = 0
    max_points_per_order: Points | None = None
    campaigns: list[Campaign] = Field(default_factory=list)


class Lots(Rules):
    return_window_days: Annotated[int, Field(ge=0, le=365)] = 0
    valid_days: Annotated[int, Field(ge=1, le=3660)] = 730


class Refunds(Rules):
    """When a refunded order's points were already spent: let the balance go negative
    (the debt is repaid by the next credits) or recover only what is left. With
    ``reevaluate_tier`` a refund also takes back the tier its order bought at once,
    rather than leaving it (and its multiplier) until the period-end review."""

    allow_negative_balance: bool = False
    reevaluate_tier: bool = True


class Goodwill(Rules):
    """Points for the trouble: on opening a complaint (by severity) and on resolving it
    (what the resolver grants, at most ``max_compensation_per_complaint``). Both kinds
    together never pass ``max_goodwill_per_customer`` within ``goodwill_period_days``:
    what is above a cap is cut to it, and the ledger entry says so."""

    complaint_opened: dict[str, Points] = Field(
        default_factory=dict, description="points by complaint severity"
    )
    max_compensation_per_complaint: Points = 5000
    max_goodwill_per_customer: Points = 10000
    goodwill_period_days: Annotated[int, Field(ge=1, le=3660)] = 365

    def points_for(self, severity: str) -> int:
        """The goodwill a complaint of this severity earns on opening (0: none)."""
        return self.complaint_opened.get(severity, 0)

    @model_validator(mode="after")
    def _known_severities(self) -> Goodwill:
        unknown = set(self.complaint_opened) - {"low", "medium", "high", "critical"}
        if unknown:
            raise ValueError(f"unknown complaint severity {sorted(unknown)}")
        over = sorted(
            s for s, p in self.complaint_opened.items() if p > self.max_goodwill_per_customer
        )
        if over:
            raise ValueError(
                f"goodwill for {', '.join(over)} complaints is above max_goodwill_per_customer "
                f"({self.max_goodwill_per_customer}) and could never be granted in full"
            )
        return self


class Reactivation(Rules):
    """A one-time offer to a customer who went silent: spend this much within the
    window, receive the reward."""

    enabled: bool = True
    spend_minor: Annotated[int, Field(ge=1)]
    currency: Currency
    within_days: Annotated[int, Field(ge=1, le=365)] = 30
    reward_points: Points


class Adjustments(Rules):
    """Points credited or debited by hand (customer service: a lost receipt, a goodwill
    gesture, a correction), each attributable to the key that decided it. An operator
    asks for an exact number, so what passes a cap is refused, never cut: one adjustment
    moves at most ``max_points`` either way, and manual credits to one customer never
    pass ``max_credit_per_customer`` within ``period_days``."""

    max_points: Annotated[int, Field(ge=1, le=10**9)] = 10000
    max_credit_per_customer: Points = 50000
    period_days: Annotated[int, Field(ge=1, le=3660)] = 365


class Programme(Rules):
    """The whole loyalty programme."""

    tiers: Tiers
    earning: EarningRules = Field(default_factory=EarningRules)
    lots: Lots = Field(default_factory=Lots)
    refunds: Refunds = Field(default_factory=Refunds)
    goodwill: Goodwill = Field(default_factory=Goodwill)
    reactivation: Reactivation | None = None
    adjustments: Adjustments = Field(default_factory=Adjustments)

    @model_validator(mode="after")
    def _tiers_exist(self) -> Programme:
        known = set(self.tiers.names)
        named = set(self.earning.tier_multipliers)
        for campaign in self.earning.campaigns:
            named |= set(campaign.tiers or ())
        unknown = sorted(named - known)
        if unknown:
            raise ValueError(
                f"unknown tier {', '.join(repr(t) for t in unknown)}: "
                f"the tiers are {', '.join(self.tiers.names)}"
            )
        return self

    @property
    def offers_reactivation(self) -> bool:
        """Whether a customer who goes silent is offered a way back."""
        return self.reactivation is not None and self.reactivation.enabled

    @property
    def lowest_tier(self) -> str:
        return self.tiers.levels[0].name


class RulesError(RuleFileError):
    """The rule file cannot be used; the message says where and why."""


def parse_programme(text: str, origin: str) -> Programme:
    """Validate a tenant's rules text as a rule file is at start (``RulesError`` names
    ``origin`` and each problem)."""
    return parse_toml(text, Programme, f"loyalty rules {origin}", RulesError)


def load_programme(path: Path) -> Programme:
    """Read and validate a rule file (``RulesError`` names the file and the problem)."""
    return load_toml(path, Programme, "loyalty rules", RulesError)
