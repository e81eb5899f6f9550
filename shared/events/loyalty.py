"""Events loyalty publishes on ``crm.loyalty``."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.payload import Payload


class PointsEarned(Payload):
    """Points were credited to the customer's ledger."""

    entry_id: str
    points: int
    order_id: str | None
    rule: str
    balance_after: int
    pending_after: int
    tier: str
    at: AwareDatetime


class TierChanged(Payload):
    """The customer moved to another tier."""

    from_tier: str | None
    to_tier: str
    cause: str
    at: AwareDatetime
