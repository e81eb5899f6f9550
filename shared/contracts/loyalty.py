"""Loyalty's answers and the redemption body: accounts, the ledger, sweeps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Header, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from shared.cursors import KeysetCursor
from shared.events.bounds import WHOLE, Text
from shared.instants import Instant


class NextExpiry(BaseModel):
    points: int
    at: datetime


class LoyaltyAccount(BaseModel):
    tier: str = Field(description="A tier of the loyalty programme (rules.toml)")
    points_balance: int
    points_pending: int
    next_expiry: NextExpiry | None
    qualifying_spend_minor: int


class LedgerEntry(BaseModel):
    entry_id: uuid.UUID
    kind: Literal["earn", "redeem", "expire", "reverse", "adjust"]
    points: int
    at: datetime
    ref: str
    rule: str | None = None


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class RedemptionRequest(BaseModel):
    points: Annotated[StrictInt, Field(gt=0, le=10**9), WHOLE] = Field(
        description="Points to spend (> 0)"
    )
    reason: Text = Field(min_length=1, max_length=200, examples=["voucher:50CNY"])


def _not_zero(points: int) -> int:
    if points == 0:
        raise ValueError("must not be 0: credit with a positive number, debit with a negative")
    return points


class AdjustmentRequest(BaseModel):
    """Points credited (> 0) or debited (< 0) by hand, and why: within the programme's
    ``[adjustments]`` caps, which refuse (409 ``adjustment-cap``) rather than cut."""

    model_config = ConfigDict(extra="forbid")

    points: Annotated[
        StrictInt,
        Field(ge=-(10**9), le=10**9, json_schema_extra={"not": {"const": 0}}),
        WHOLE,
        AfterValidator(_not_zero),
    ] = Field(description="Points to credit (> 0) or debit (< 0); never 0", examples=[500])
    reason: Text = Field(
        min_length=1,
        max_length=200,
        examples=["goodwill:lost receipt"],
        description="Why, for the ledger and the audit log; never the customer's personal data",
    )


class RecordedAdjustment(AdjustmentRequest):
    """An adjustment as the gateway forwards it, with the key that decided it: every
    point granted or taken by hand is attributable."""

    adjusted_by: str | None = Field(None, max_length=80)


class Adjustment(BaseModel):
    """A manual adjustment's ledger entry, as the first answer gave it."""

    entry_id: uuid.UUID
    kind: Literal["adjust"] = "adjust"
    points: int = Field(description="Signed: credited (> 0) or debited (< 0)")
    ref: str = Field(description="adjustment:<Idempotency-Key>")
    reason: str
    adjusted_by: str | None = Field(description="The deciding key, 'api-key:<id>'")
    at: datetime
    balance_after: int = Field(description="The available points right after it")


class LoyaltySweep(BaseModel):
    accounts: int = Field(ge=0)
    events: int = Field(ge=0)


# The ledger's query: a page at a time, newest first.
LedgerLimit = Annotated[int, Query(ge=1, le=500)]
LedgerCursor = KeysetCursor
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="The same key with the same body returns the first answer",
    ),
]


class TierCount(BaseModel):
    tier: str
    customers: int = Field(ge=0)
    share: float = Field(ge=0, le=1)


class TierMove(BaseModel):
    from_tier: str = Field(serialization_alias="from")
    to_tier: str = Field(serialization_alias="to")
    direction: Literal["up", "down"]
    moves: int = Field(ge=0)


class TierDistribution(BaseModel):
    """How many customers stand in each tier now (programme order, lowest first), and
    the moves between tiers in [from, to)."""

    as_of: datetime
    tiers: list[TierCount]
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    upgrades: int = Field(ge=0)
    downgrades: int = Field(ge=0)
    movements: list[TierMove]


MovesStart = Annotated[
    Instant | None, Query(alias="from", description="Start of [from, to); default: to − 30 days")
]
MovesEnd = Annotated[
    Instant | None, Query(alias="to", description="End of [from, to); default: now")
]
