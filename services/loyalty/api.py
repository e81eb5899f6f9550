"""Loyalty's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field

from services.loyalty import redemptions, sweeper, views
from services.loyalty.settings import LoyaltySettings
from shared.app import Runtime, RuntimeDep, TenantDep
from shared.cursors import InvalidCursor, decode_keyset, invalid_cursor
from shared.events.bounds import Text
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["loyalty"])


class NextExpiry(BaseModel):
    points: int
    at: str


class LoyaltyAccount(BaseModel):
    tier: str
    points_balance: int
    points_pending: int
    next_expiry: NextExpiry | None
    qualifying_spend_minor: int


class LedgerEntry(BaseModel):
    entry_id: str
    kind: Literal["earn", "redeem", "expire", "reverse", "adjust"]
    points: int
    at: datetime
    ref: str
    rule: str | None = None


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]
    next_cursor: str | None


class RedemptionRequest(BaseModel):
    points: int = Field(gt=0, le=10**9, description="Points to spend (> 0)")
    reason: Text = Field(min_length=1, max_length=200, examples=["voucher:50CNY"])


class SweepResult(BaseModel):
    accounts: int
    events: int


IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
]


def _settings(runtime: Runtime) -> LoyaltySettings:
    return cast(LoyaltySettings, runtime.settings)


def _no_account(customer_id: uuid.UUID) -> Problem:
    return Problem(404, "customer-not-found", f"Loyalty has no account for customer {customer_id}.")


@router.get("/customers/{customer_id}/loyalty")
async def get_loyalty(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> LoyaltyAccount:
    """The customer's tier, available and pending points, and the next expiry."""
    found = await views.loyalty_summary(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise _no_account(customer_id)
    return LoyaltyAccount.model_validate(found)


@router.get("/customers/{customer_id}/loyalty/ledger")
async def get_ledger(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> LedgerPage:
    """The customer's ledger entries, newest first, with the rule behind each."""
    try:
        after = decode_keyset(cursor) if cursor else None
    except InvalidCursor as error:
        raise invalid_cursor() from error
    page = await views.ledger_page(runtime.db.engine, tenant, customer_id, limit, after)
    engine = runtime.db.engine
    if not page["entries"] and await views.loyalty_summary(engine, tenant, customer_id) is None:
        raise _no_account(customer_id)
    return LedgerPage.model_validate(page)


@router.post("/customers/{customer_id}/loyalty/redemptions", status_code=201)
async def redeem_points(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    body: RedemptionRequest,
    idempotency_key: IdempotencyKey,
) -> LedgerEntry:
    """Spend points; a repeated Idempotency-Key with the same body returns the first answer."""
    command = redemptions.Redeem(tenant, customer_id, idempotency_key, body.points, body.reason)
    try:
        entry = await redemptions.redeem(runtime.db, command, _settings(runtime).programme)
    except redemptions.UnknownAccount:
        raise _no_account(customer_id) from None
    except redemptions.KeyReused:
        raise Problem(
            409, "idempotency-key-reused",
            "This Idempotency-Key was used for a different redemption; use a new key.",
        ) from None  # fmt: skip
    except redemptions.InsufficientPoints as short:
        raise Problem(
            409, "insufficient-points",
            f"The balance is {short.balance} points; {short.wanted} cannot be redeemed.",
            balance=short.balance,
        ) from None  # fmt: skip
    return LedgerEntry.model_validate(entry)


@router.post("/loyalty/sweep")
async def sweep(
    runtime: RuntimeDep,
    tenant: TenantDep,
    all_tenants: Annotated[
        bool, Query(description="Every tenant's accounts, not only the caller's (operators)")
    ] = False,
) -> SweepResult:
    """Run the expiries, releases and tier reviews due at the service's now, of the
    caller's tenant (of every tenant with ``all_tenants=true``); their counts."""
    settings = _settings(runtime)
    swept = await sweeper.sweep_all(
        runtime.db,
        settings.programme,
        settings.loyalty_sweep_batch,
        None if all_tenants else tenant,
    )
    return SweepResult(accounts=swept.accounts, events=swept.events)
