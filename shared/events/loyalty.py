"""Events loyalty publishes on ``crm.loyalty``.

Every event that moves a customer's points is a ``BalanceChange``: it carries the
balance, the pending points and the tier right after it, so a read model (the
customer 360) follows the account by keeping the latest event, never by adding.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.bounds import EntryRef, Id, Name, Note
from shared.events.payload import Payload


class BalanceChange(Payload):
    """The account right after the change."""

    balance_after: int = Field(description="Available points (the sum of the ledger)")
    pending_after: int = Field(description="Points inside the return window, not yet available")
    tier: Name


class PointsEarned(BalanceChange):
    """Points were credited to the customer's ledger."""

    entry_id: Id
    points: int
    order_id: Name | None
    rule: Note = Field(
        description="Every rule that shaped the points, e.g. 'base:CNYx1 tier:goldx1.5'"
    )
    at: AwareDatetime


class PointsPending(BalanceChange):
    """A purchase earned points that become available when its return window closes."""

    order_id: Name
    points: int
    rule: Note
    available_at: AwareDatetime
    at: AwareDatetime


class PointsReversed(BalanceChange):
    """A refund took back the share of points its order earned."""

    entry_id: Id | None = Field(description="None when the points were still pending")
    order_id: Name
    points: int = Field(description="Points taken back (≤ 0)")
    due: int = Field(description="Points the refunded share had earned")
    unrecovered: int = Field(description="Points already spent and not taken back (policy)")
    outcome: Literal["reversed", "partially_recovered", "negative_balance", "pending_reduced"]
    at: AwareDatetime


class PointsRedeemed(BalanceChange):
    """The customer spent points."""

    entry_id: Id
    points: int = Field(description="Points spent (< 0)")
    reason: Note
    at: AwareDatetime
    idempotency_key: Name | None = Field(
        default=None,
        description="The redemption's Idempotency-Key: a rebuild of loyalty folds the "
        "redemption again from this event, and a repeat of the key keeps its first answer",
    )


class PointsExpired(BalanceChange):
    """What was left of a lot expired (oldest lots first)."""

    entry_id: Id
    points: int = Field(description="Points expired (< 0)")
    earned_at: AwareDatetime
    at: AwareDatetime


class PointsAdjusted(BalanceChange):
    """Points moved outside a purchase: goodwill for a complaint, an offer's reward, what
    an undone merge settles, or a manual adjustment at the API (a credit or a debit)."""

    entry_id: Id
    points: int
    rule: Note
    ref: EntryRef
    at: AwareDatetime
    reason: Note | None = Field(
        default=None,
        description="A manual adjustment's reason, as the operator gave it (ref "
        "'adjustment:<Idempotency-Key>': a rebuild of loyalty folds it again from this event)",
    )
    adjusted_by: Name | None = Field(
        default=None, description="A manual adjustment's deciding key, 'api-key:<id>'"
    )


class TierChanged(Payload):
    """The customer moved to another tier."""

    from_tier: Name | None
    to_tier: Name
    cause: Name
    at: AwareDatetime


class OfferGranted(Payload):
    """The customer was offered a reward for spending within a window (once in a lifetime)."""

    kind: Literal["reactivation"]
    spend_minor: int
    currency: Name
    reward_points: int
    valid_until: AwareDatetime
    at: AwareDatetime
