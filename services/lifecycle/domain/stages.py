"""The lifecycle stage machine: where a customer stands, and what moves them.

Stages follow the customer-lifecycle literature (list, intent, deal, active,
silent, churned). The transitions are rows of the configuration: from a stage,
on a trigger, to a stage, if a guard holds. What is not a row cannot happen, so
an illegal transition is impossible by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast

from services.lifecycle.domain.config import NO_STAGE, LifecycleConfig, TransitionRule, Trigger
from services.lifecycle.domain.rfm import Purchase, Rfm, orders_within, rfm_of
from shared.events.lifecycle import Stage

# The purchase funnel in order; silent and churned stand outside it.
FUNNEL: tuple[Stage, ...] = ("prospect", "lead", "new_customer", "active", "loyal")


@dataclass(frozen=True)
class CustomerState:
    """A customer as lifecycle knows them: stage and the service signals it tracks."""

    stage: Stage | None = None
    stage_since: datetime | None = None
    reactivations: int = 0
    open_complaints: Mapping[str, int] = field(default_factory=dict)
    nps_detractor: bool = False
    tier_downgraded: bool = False


@dataclass(frozen=True)
class Facts:
    """What guards may look at besides the state: the customer's purchases."""

    purchases: tuple[Purchase, ...] = ()

    @property
    def rfm(self) -> Rfm:
        return rfm_of(self.purchases)


@dataclass(frozen=True)
class Transition:
    from_stage: Stage | None
    to_stage: Stage
    at: datetime
    reactivation: bool


class StageMachine:
    """The configured transitions, looked up by (stage, trigger), guards evaluated in order."""

    def __init__(self, config: LifecycleConfig) -> None:
        self.config = config
        self._rules: dict[tuple[str, str], list[TransitionRule]] = {}
        for rule in config.transitions:
            for stage in rule.from_stages:
                self._rules.setdefault((stage, rule.on), []).append(rule)

    def has_rule(self, stage: Stage | None, trigger: Trigger) -> bool:
        """Whether some rule (whatever its guard) leaves ``stage`` on ``trigger``."""
        return bool(self._rules.get((stage or NO_STAGE, trigger)))

    def move(
        self, state: CustomerState, trigger: Trigger, at: datetime, facts: Facts = Facts()
    ) -> tuple[CustomerState, Transition | None]:
        """Apply a trigger: the new state and the transition it made, if any.

        An event older than the current stage (it arrived late) may still move the
        customer forward in the funnel, which is where event-time order would have
        taken them, but never backwards or out of it: a registration that arrives
        after the first purchase does not make a buyer a prospect again.
        """
        to_stage = self._target(state, trigger, at, facts)
        if to_stage is None or to_stage == state.stage:
            return state, None
        late = state.stage_since is not None and at < state.stage_since
        if late and not _forward(state.stage, to_stage):
            return state, None
        moved_at = max(at, state.stage_since) if state.stage_since else at
        reactivation = state.stage in self.config.reactivation_from and to_stage not in (
            "silent",
            "churned",
        )
        transition = Transition(state.stage, to_stage, moved_at, reactivation)
        moved = replace(
            state,
            stage=to_stage,
            stage_since=moved_at,
            reactivations=state.reactivations + int(reactivation),
        )
        return moved, transition

    def _target(
        self, state: CustomerState, trigger: Trigger, at: datetime, facts: Facts
    ) -> Stage | None:
        for rule in self._rules.get((state.stage or NO_STAGE, trigger), []):
            if rule.guard is None or self._holds(rule.guard, state, at, facts):
                return cast(Stage, rule.to)
        return None

    def _holds(self, guard: str, state: CustomerState, at: datetime, facts: Facts) -> bool:
        loyal = self.config.loyal
        blocked = any(state.open_complaints.get(s, 0) > 0 for s in loyal.blocking_severities)
        match guard:
            case "loyal":
                recent = orders_within(facts.purchases, at, loyal.window_days)
                return recent >= loyal.min_orders and not blocked
            case "no_paid_orders":
                return facts.rfm.orders == 0
            case "open_blocking_complaint":
                return blocked
        raise ValueError(f"unknown guard '{guard}'")


def _forward(from_stage: Stage | None, to_stage: Stage) -> bool:
    if from_stage is None:
        return True
    if from_stage not in FUNNEL or to_stage not in FUNNEL:
        return False
    return FUNNEL.index(to_stage) > FUNNEL.index(from_stage)


def purchase_trigger(rfm_before: Rfm) -> Trigger:
    """Which trigger a new paid order is, given the statistics before it."""
    return "first_purchase" if rfm_before.orders == 0 else "repeat_purchase"
