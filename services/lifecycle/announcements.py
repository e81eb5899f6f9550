"""What lifecycle tells the other services, and the history row that records a move.

A stage change is announced with its cause (the event or the timer that made it),
and recorded in the customer's stage history under the same cause; a churn-risk
change is announced once it moved enough. Ids derive from what caused them, so a
replay or a retried sweep announces under the same ids.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypedDict

from services.lifecycle.domain import risk
from services.lifecycle.domain.stages import Transition
from shared.events import CloudEvent, new_event
from shared.events.envelope import caused_event
from shared.events.lifecycle import (
    ChurnRiskChanged,
    RiskReason,
    StageCause,
    StageChanged,
    ValueClassChanged,
)
from shared.subscription import CustomerKey

SOURCE = "/crm/lifecycle"
_TIMER_EVENTS = uuid.UUID("6f0c1c57-0b0e-4c1e-9a43-5d1b0c2f7a11")
_RESCORE_EVENTS = uuid.UUID("0d7f4a52-6c1b-4f4e-8f0e-3b9a61c2d5e4")


class HistoryRow(TypedDict):
    """One row of ``stage_history``: a move and what caused it."""

    tenant_id: str
    customer_id: uuid.UUID
    from_stage: str | None
    to_stage: str
    at: datetime
    cause_kind: str
    cause_ref: str


def history_row(key: CustomerKey, transition: Transition, kind: str, ref: str) -> HistoryRow:
    """The history row of a move caused by an event (``kind`` event, ``ref`` its id) or a
    timer (``kind`` timer, ``ref`` silence or churn)."""
    return HistoryRow(
        tenant_id=key[0],
        customer_id=key[1],
        from_stage=transition.from_stage,
        to_stage=transition.to_stage,
        at=transition.at,
        cause_kind=kind,
        cause_ref=ref,
    )


def stage_changed(transition: Transition, cause: CloudEvent) -> CloudEvent:
    """The stage change an event made."""
    return caused_event(
        _stage_payload(transition, "event", str(cause.id)),
        cause,
        source=SOURCE,
        purpose="stage_changed",
        time=transition.at,
    )


def timer_stage_changed(key: CustomerKey, transition: Transition, timer: str) -> CloudEvent:
    """The stage change a timer made, with an id derived from what fired, so a sweep
    that is retried after a crash announces it under the same id."""
    tenant, customer = key
    event_id = uuid.uuid5(
        _TIMER_EVENTS, f"{tenant}/{customer}/{transition.to_stage}/{transition.at.isoformat()}"
    )
    return new_event(
        _stage_payload(transition, "timer", timer),
        source=SOURCE,
        tenant_id=tenant,
        key=str(customer),
        subject=str(customer),
        time=transition.at,
        event_id=event_id,
    )


def risk_changed(churn: risk.ChurnScore, cause: CloudEvent, now: datetime) -> CloudEvent:
    """A churn risk that moved enough to tell the others."""
    return caused_event(
        risk_payload(churn, now), cause, source=SOURCE, purpose="churn_risk_changed", time=now
    )


def rescored(key: CustomerKey, payload: ChurnRiskChanged | ValueClassChanged) -> CloudEvent:
    """A change the rescore job found (time passed, a refit): no event caused it, so its
    id derives from the customer and what changed, and a retried pass repeats it."""
    tenant, customer = key
    event_id = uuid.uuid5(_RESCORE_EVENTS, f"{tenant}/{customer}/{payload.model_dump_json()}")
    return new_event(
        payload,
        source=SOURCE,
        tenant_id=tenant,
        key=str(customer),
        subject=str(customer),
        time=payload.at,
        event_id=event_id,
    )


def value_class_changed(
    key: CustomerKey,
    change: tuple[str | None, str | None],
    worth: tuple[int | None, str | None],
    cause: CloudEvent | None,
    now: datetime,
) -> CloudEvent:
    """The customer's value class changed (``change``: from, to), with their CLV and its
    currency (``worth``); the 360 and segments follow it."""
    payload = ValueClassChanged(
        from_class=change[0], to_class=change[1], clv_minor=worth[0], currency=worth[1], at=now
    )
    if cause is None:
        return rescored(key, payload)
    return caused_event(payload, cause, source=SOURCE, purpose="value_class_changed", time=now)


def risk_payload(churn: risk.ChurnScore, at: datetime) -> ChurnRiskChanged:
    reasons = [
        RiskReason(code=r.code, weight=round(r.weight, 2), detail=r.detail) for r in churn.reasons
    ]
    return ChurnRiskChanged(score=churn.score, level=churn.level, reasons=reasons, at=at)


def _stage_payload(transition: Transition, kind: str, ref: str) -> StageChanged:
    return StageChanged(
        from_stage=transition.from_stage,
        to_stage=transition.to_stage,
        at=transition.at,
        cause=StageCause(kind=kind, ref=ref),
        reactivation=transition.reactivation,
    )
