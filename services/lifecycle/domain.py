"""The lifecycle stage machine: where a customer stands, and what moves them.

Stages follow the customer-lifecycle literature (list, intent, deal, active,
silent, churned). A transition is a row of ``TRANSITIONS``: from a stage, on
a trigger, to a stage. What is not in the table cannot happen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.events.lifecycle import Stage

Trigger = Literal["registered", "engaged", "first_purchase", "repeat_purchase", "closed"]

ANY_BEFORE_PURCHASE: tuple[Stage | None, ...] = (None, "prospect", "lead")
TRANSITIONS: dict[tuple[Stage | None, Trigger], Stage] = {
    (None, "registered"): "prospect",
    (None, "engaged"): "lead",
    ("prospect", "engaged"): "lead",
    **{(s, "first_purchase"): "new_customer" for s in ANY_BEFORE_PURCHASE},
    ("new_customer", "repeat_purchase"): "active",
    ("silent", "repeat_purchase"): "active",
    ("churned", "repeat_purchase"): "active",
    ("churned", "first_purchase"): "active",  # closed the account, then came back and bought
    **{
        (s, "closed"): "churned"
        for s in ("prospect", "lead", "new_customer", "active", "loyal", "silent")
    },
}
WIN_BACK_FROM: frozenset[Stage] = frozenset({"silent", "churned"})


@dataclass(frozen=True)
class CustomerState:
    stage: Stage | None = None
    stage_since: datetime | None = None
    orders: int = 0
    revenue_minor: int = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    reactivations: int = 0


@dataclass(frozen=True)
class Transition:
    from_stage: Stage | None
    to_stage: Stage
    at: datetime
    reactivation: bool


def record_purchase(state: CustomerState, amount_minor: int, at: datetime) -> CustomerState:
    """The state's purchase statistics after one more order."""
    return replace(
        state,
        orders=state.orders + 1,
        revenue_minor=state.revenue_minor + amount_minor,
        first_purchase_at=min(filter(None, [state.first_purchase_at, at])),
        last_purchase_at=max(filter(None, [state.last_purchase_at, at])),
    )


def record_refund(state: CustomerState, amount_minor: int) -> CustomerState:
    return replace(state, revenue_minor=max(0, state.revenue_minor - amount_minor))


def move(
    state: CustomerState, trigger: Trigger, at: datetime
) -> tuple[CustomerState, Transition | None]:
    """Apply a trigger: the new state and the transition it made, if any."""
    to_stage = TRANSITIONS.get((state.stage, trigger))
    if to_stage is None or to_stage == state.stage:
        return state, None
    reactivation = state.stage in WIN_BACK_FROM and to_stage == "active"
    transition = Transition(state.stage, to_stage, at, reactivation)
    moved = replace(
        state,
        stage=to_stage,
        stage_since=at,
        reactivations=state.reactivations + int(reactivation),
    )
    return moved, transition


def purchase_trigger(state: CustomerState) -> Trigger:
    """Which trigger a purchase is, once it is counted in ``state``."""
    return "first_purchase" if state.orders == 1 else "repeat_purchase"
