"""What loyalty tells the platform: each domain notice becomes one typed event.

An event's id is derived from its cause (the consumed event, or the entry), so
re-applying the same cause emits the same id and downstream inboxes drop it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.loyalty.domain.account import Account, Notice
from services.loyalty.domain.adjustments import ADJUSTMENT, MANUAL
from services.loyalty.store import entry_id
from shared.events import CloudEvent
from shared.events.envelope import caused_event, new_event
from shared.events.loyalty import (
    OfferGranted,
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsPending,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
)
from shared.events.payload import Payload

SOURCE = "/crm/loyalty"
REDEMPTION = "redemption:"  # a redemption's ref: this, then its Idempotency-Key


def announce(account: Account, n: Notice, cause: CloudEvent | None, at: datetime) -> CloudEvent:
    """The event for one notice: caused by ``cause`` when there is one (a consumed
    event), else by the entry itself (a sweep, a redemption)."""
    payload = _payload(account, n, at)
    purpose = f"{n.kind}:{n.entry.ref if n.entry else n.lot.ref if n.lot else ''}"
    if cause is not None:
        return caused_event(payload, cause, source=SOURCE, purpose=purpose)
    subject = str(account.customer_id)
    return new_event(
        payload,
        source=SOURCE,
        tenant_id=account.tenant_id,
        key=subject,
        subject=subject,
        time=at,
        event_id=uuid.uuid5(
            account.customer_id, f"{account.tenant_id}/event/{purpose}/{at.isoformat()}"
        ),
    )


def happened(n: Notice, otherwise: datetime) -> datetime:
    """When what the notice tells happened: its entry's time, a tier move's, else
    ``otherwise`` (the time of what caused it)."""
    return n.entry.at if n.entry else n.at or otherwise


def _payload(account: Account, n: Notice, at: datetime) -> Payload:
    state = {"balance_after": n.balance, "pending_after": n.pending, "tier": n.tier}
    entry, lot = n.entry, n.lot
    entry_ref = str(entry_id(account, entry)) if entry else None
    order_id = lot.ref.removeprefix("order:") if lot and lot.ref.startswith("order:") else None
    match n.kind:
        case "credited" if entry and entry.kind == "earn":
            return PointsEarned(
                **state, entry_id=entry_ref, points=entry.points, order_id=order_id,
                rule=entry.rule, at=entry.at,
            )  # fmt: skip
        case "credited" if entry:
            manual = entry.ref.startswith(ADJUSTMENT)
            return PointsAdjusted(
                **state, entry_id=entry_ref, points=entry.points, rule=entry.rule,
                ref=entry.ref, at=entry.at, adjusted_by=n.by,
                reason=entry.rule.removeprefix(MANUAL) if manual else None,
            )  # fmt: skip
        case "pending" if lot:
            return PointsPending(
                **state, order_id=order_id or lot.ref, points=lot.remaining, rule=lot.rule,
                available_at=lot.available_at, at=lot.earned_at,
            )  # fmt: skip
        case "reversed" if lot and n.reversal:
            r = n.reversal
            return PointsReversed(
                **state, entry_id=entry_ref, order_id=order_id or lot.ref, points=-r.recovered,
                due=r.due, unrecovered=r.due - r.recovered, outcome=r.outcome, at=at,
            )  # fmt: skip
        case "redeemed" if entry:
            reason = entry.rule.removeprefix("redemption:")
            return PointsRedeemed(
                **state, entry_id=entry_ref, points=entry.points, reason=reason, at=entry.at,
                idempotency_key=entry.ref.removeprefix(REDEMPTION),
            )  # fmt: skip
        case "expired" if entry and lot:
            return PointsExpired(
                **state, entry_id=entry_ref, points=entry.points, earned_at=lot.earned_at,
                at=entry.at,
            )  # fmt: skip
        case "tier_changed":
            return TierChanged(from_tier=n.from_tier, to_tier=n.tier, cause=n.cause, at=at)
        case "offer_granted" if account.offer:
            offer = account.offer
            return OfferGranted(
                kind="reactivation", spend_minor=offer.spend_minor, currency=offer.currency,
                reward_points=offer.reward_points, valid_until=offer.valid_until,
                at=offer.granted_at,
            )  # fmt: skip
    raise ValueError(f"no event for notice {n.kind}")
