"""Profile's read-model rules: how the customer 360 folds the other services' events,
and how a survivor's 360 counts the customers merged into it. Plain Python, no I/O.

(How a partner's reference becomes a customer: ``services.profile.resolution``.)"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from uuid import UUID

from shared.events.activity import OrderRefunded, PurchaseCompleted
from shared.events.feedback import (
    ComplaintOpened,
    ComplaintResolved,
    PreferredChannelChanged,
    SurveyAnswered,
)
from shared.events.lifecycle import ChurnRiskChanged, StageChanged, ValueClassChanged
from shared.events.loyalty import (
    BalanceChange,
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsPending,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
)
from shared.events.payload import Payload


class View(TypedDict):
    """A customer's 360 as profile folds it (one row of ``customer_view``)."""

    tenant_id: str
    customer_id: UUID
    stage: str | None
    stage_since: datetime | None
    churn_score: int | None
    churn_level: str | None
    churn_reasons: list[dict[str, object]] | None  # each a RiskReason, as JSON
    tier: str
    points_balance: int
    points_pending: int
    last_nps: int | None
    last_nps_at: datetime | None
    open_complaints: int
    orders: int
    revenue_minor: int
    currency: str | None
    last_purchase_at: datetime | None
    updated_at: datetime
    value_class: str | None
    clv_minor: int | None
    value_currency: str | None
    reactivations: int
    preferred_channel: str | None


def new_view(tenant_id: str, customer_id: UUID, now: datetime) -> View:
    """The 360 of a customer nobody has said anything about yet."""
    return {
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "stage": None,
        "stage_since": None,
        "churn_score": None,
        "churn_level": None,
        "churn_reasons": None,
        "tier": "member",
        "points_balance": 0,
        "points_pending": 0,
        "last_nps": None,
        "last_nps_at": None,
        "open_complaints": 0,
        "orders": 0,
        "revenue_minor": 0,
        "currency": None,
        "last_purchase_at": None,
        "updated_at": now,
        "value_class": None,
        "clv_minor": None,
        "value_currency": None,
        "reactivations": 0,
        "preferred_channel": None,
    }


# What the 360 folds, as ``fold`` matches it (every balance event is a BalanceChange).
FOLDED: tuple[type[Payload], ...] = (
    PurchaseCompleted,
    OrderRefunded,
    StageChanged,
    ChurnRiskChanged,
    ValueClassChanged,
    PointsEarned,
    PointsPending,
    PointsReversed,
    PointsRedeemed,
    PointsExpired,
    PointsAdjusted,
    TierChanged,
    ComplaintOpened,
    ComplaintResolved,
    SurveyAnswered,
    PreferredChannelChanged,
)


def fold(view: View, payload: Payload, at: datetime) -> bool:
    """Apply one event to a customer's 360 (events of one topic arrive in order, and a
    refund after its purchase: ``orders``); says whether the event concerns the 360."""
    match payload:
        case PurchaseCompleted(amount_minor=amount, currency=currency):
            view["orders"] += 1
            if view["currency"] in (None, currency):
                view["currency"] = currency
                view["revenue_minor"] += amount
            view["last_purchase_at"] = max(filter(None, [view["last_purchase_at"], at]))
        case OrderRefunded(amount_minor=amount, currency=currency):
            if currency in (None, view["currency"]):
                # Kept signed, shown at least 0 (``views``): a clamp here would make a
                # refund larger than its order depend on what was folded before it.
                view["revenue_minor"] -= amount
        case StageChanged(to_stage=stage, at=since, reactivation=won_back):
            view["stage"], view["stage_since"] = stage, since
            view["reactivations"] += int(won_back)
        case ValueClassChanged(to_class=value_class, clv_minor=clv, currency=currency):
            view["value_class"], view["clv_minor"] = value_class, clv
            view["value_currency"] = currency
        case ChurnRiskChanged(score=score, level=level, reasons=reasons):
            view["churn_score"], view["churn_level"] = score, level
            view["churn_reasons"] = [r.model_dump() for r in reasons]
        case BalanceChange(balance_after=balance, pending_after=pending, tier=tier):
            view["points_balance"], view["points_pending"], view["tier"] = balance, pending, tier
        case TierChanged(to_tier=tier):
            view["tier"] = tier
        case ComplaintOpened(open_complaints=count) | ComplaintResolved(open_complaints=count):
            view["open_complaints"] = count
        case PreferredChannelChanged(channel=channel):
            view["preferred_channel"] = channel
        case SurveyAnswered(survey="nps", score=score):
            # the latest answer by when it was given, whatever order answers arrive in
            if view["last_nps_at"] is None or at >= view["last_nps_at"]:
                view["last_nps"], view["last_nps_at"] = score, at
        case _:
            return False
    return True


def combine(survivor: View, merged: list[View]) -> View:
    """The survivor's 360 with the purchases of the customers merged into it.

    Only the purchase statistics add up: profile folds them from the activity alone.
    Stage, risk, points, tier and feedback stay the survivor's: the services that own
    them announce the survivor's own (and will announce the joined ones once they
    apply merges). Summed at read time, so the result does not depend on the order in
    which the fold met the purchases and the merge. Revenue counts in the survivor's
    currency (or, if it has none yet, the first merged customer's)."""
    if not merged:
        return survivor
    views = [survivor, *sorted(merged, key=lambda v: str(v["customer_id"]))]
    currency = next((v["currency"] for v in views if v["currency"]), None)
    last = [v["last_purchase_at"] for v in views if v["last_purchase_at"]]
    return {
        **survivor,
        "orders": sum(v["orders"] for v in views),
        "currency": currency,
        "revenue_minor": sum(v["revenue_minor"] for v in views if v["currency"] == currency),
        "last_purchase_at": max(last, default=None),
    }
