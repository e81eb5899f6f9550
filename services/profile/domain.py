"""Profile's rules: how a partner's reference becomes one customer, and how the
customer 360 folds the other services' events. Plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.events.activity import CustomerRef, OrderRefunded, PurchaseCompleted
from shared.events.feedback import ComplaintOpened, ComplaintResolved, SurveyAnswered
from shared.events.lifecycle import ChurnRiskChanged, StageChanged
from shared.events.loyalty import BalanceChange, TierChanged
from shared.events.payload import Payload

IdentityKey = tuple[str, str, str]  # tenant, kind, value


def identity_keys(tenant_id: str, ref: CustomerRef) -> list[IdentityKey]:
    """The keys that may name this customer, strongest first: the partner's own
    reference, then email, then phone."""
    keys = [(tenant_id, f"ref:{ref.source}", ref.external_id)]
    if ref.email:
        keys.append((tenant_id, "email", ref.email.lower()))
    if ref.phone:
        keys.append((tenant_id, "phone", ref.phone))
    return keys


@dataclass
class Directory:
    """The identities known so far in a batch: a key → customer map that grows as
    new customers are met, so two events about one new person make one customer."""

    known: dict[IdentityKey, UUID]
    new_identities: dict[IdentityKey, UUID] = field(default_factory=dict)

    def resolve(self, keys: list[IdentityKey]) -> UUID | None:
        return next((self.known[k] for k in keys if k in self.known), None)

    def link(self, keys: list[IdentityKey], customer_id: UUID) -> None:
        """Attach the keys nobody owns yet to the customer (a key never changes hands
        here: moving one is a merge, a decision for an operator)."""
        for key in keys:
            if key not in self.known:
                self.known[key] = customer_id
                self.new_identities[key] = customer_id


CONTACT_FIELDS = ("name", "email", "phone")


def contact_details(ref: CustomerRef) -> dict[str, str | None]:
    """How to reach the customer, as the partner knows them (emails compared lowercased)."""
    return {"name": ref.name, "email": ref.email.lower() if ref.email else None, "phone": ref.phone}


def new_view(tenant_id: str, customer_id: UUID, now: datetime) -> dict[str, Any]:
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
        "open_complaints": 0,
        "orders": 0,
        "revenue_minor": 0,
        "currency": None,
        "last_purchase_at": None,
        "updated_at": now,
    }


def fold(view: dict[str, Any], payload: Payload, at: datetime) -> bool:
    """Apply one event to a customer's 360 (events of one topic arrive in order);
    says whether the event concerns the 360 at all."""
    match payload:
        case PurchaseCompleted(amount_minor=amount, currency=currency):
            view["orders"] += 1
            if view["currency"] in (None, currency):
                view["currency"] = currency
                view["revenue_minor"] += amount
            view["last_purchase_at"] = max(filter(None, [view["last_purchase_at"], at]))
        case OrderRefunded(amount_minor=amount, currency=currency):
            if currency in (None, view["currency"]):
                view["revenue_minor"] = max(0, view["revenue_minor"] - amount)
        case StageChanged(to_stage=stage, at=since):
            view["stage"], view["stage_since"] = stage, since
        case ChurnRiskChanged(score=score, level=level, reasons=reasons):
            view["churn_score"], view["churn_level"] = score, level
            view["churn_reasons"] = [r.model_dump() for r in reasons]
        case BalanceChange(balance_after=balance, pending_after=pending, tier=tier):
            view["points_balance"], view["points_pending"], view["tier"] = balance, pending, tier
        case TierChanged(to_tier=tier):
            view["tier"] = tier
        case ComplaintOpened(open_complaints=count) | ComplaintResolved(open_complaints=count):
            view["open_complaints"] = count
        case SurveyAnswered(survey="nps", score=score):
            view["last_nps"] = score
        case _:
            return False
    return True
