"""Loyalty's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.loyalty import adjustments, redemptions, views
from services.loyalty.domain.rules import Programme
from services.loyalty.settings import LoyaltySettings
from shared.contracts.loyalty import (
    Adjustment,
    IdempotencyKey,
    LedgerCursor,
    LedgerEntry,
    LedgerLimit,
    LedgerPage,
    LoyaltyAccount,
    MovesEnd,
    MovesStart,
    RecordedAdjustment,
    RedemptionRequest,
    TierDistribution,
)
from shared.cursors import decode_keyset
from shared.problems import Problem
from shared.rulebook import Rulebook
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.tabular import csv_answer, wants_csv

# This service's runtime, typed by its settings.
RuntimeDep = Annotated[Runtime[LoyaltySettings, Rulebook[Programme]], Depends(get_runtime)]
router = APIRouter(prefix="/v1", tags=["loyalty"])


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
    return found


@router.get("/customers/{customer_id}/loyalty/ledger")
async def get_ledger(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    limit: LedgerLimit = 50,
    cursor: LedgerCursor = None,
) -> LedgerPage:
    """The customer's ledger entries, newest first, with the rule behind each."""
    after = decode_keyset(cursor) if cursor else None
    page = await views.ledger_page(runtime.db.engine, tenant, customer_id, limit, after)
    engine = runtime.db.engine
    if not page.entries and await views.loyalty_summary(engine, tenant, customer_id) is None:
        raise _no_account(customer_id)
    return page


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
        programme = await runtime.resources.current(runtime.db.engine, tenant)
        entry = await redemptions.redeem(runtime.db, command, programme)
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
    return entry


@router.post("/customers/{customer_id}/loyalty/adjustments", status_code=201)
async def adjust_points(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    body: RecordedAdjustment,
    idempotency_key: IdempotencyKey,
) -> Adjustment:
    """Credit (> 0) or debit (< 0) points by hand, within the programme's caps; a repeated
    Idempotency-Key with the same body returns the first answer."""
    command = adjustments.Adjust(
        tenant, customer_id, idempotency_key, body.points, body.reason, body.adjusted_by
    )
    try:
        programme = await runtime.resources.current(runtime.db.engine, tenant)
        return await adjustments.adjust(runtime.db, command, programme)
    except adjustments.UnknownAccount:
        raise _no_account(customer_id) from None
    except adjustments.KeyReused:
        raise Problem(
            409, "idempotency-key-reused",
            "This Idempotency-Key was used for a different adjustment; use a new key.",
        ) from None  # fmt: skip
    except adjustments.OverCap as over:
        raise Problem(409, "adjustment-cap", over.detail, allowed=over.allowed) from None
    except adjustments.InsufficientPoints as short:
        raise Problem(
            409, "insufficient-points",
            f"The balance is {short.balance} points; {short.wanted} cannot be debited.",
            balance=short.balance,
        ) from None  # fmt: skip


@router.get("/loyalty/tiers/distribution", response_model=TierDistribution)
async def get_tier_distribution(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: MovesStart = None,
    end: MovesEnd = None,
) -> TierDistribution | Response:
    """Customers per tier now, and the moves between tiers in [from, to) (default: the
    last 30 days); one CSV table with ``Accept: text/csv``."""
    now = runtime.clock.now()
    end = end or now
    start = start or end - timedelta(days=30)
    if start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    tiers = (await runtime.resources.current(runtime.db.engine, tenant)).tiers.names
    found = await views.tier_distribution(runtime.db.engine, tenant, tiers, (start, end), now)
    return _tiers_sheet(found) if wants_csv(request) else found


def _tiers_sheet(found: TierDistribution) -> Response:
    """One row per tier (its customers and share), then one per move between tiers."""
    rows: list[tuple[object, ...]] = [
        ("tier", t.tier, t.customers, t.share, None, None, None, None) for t in found.tiers
    ]
    rows += [
        ("move", None, None, None, m.from_tier, m.to_tier, m.direction, m.moves)
        for m in found.movements
    ]
    header = ("row", "tier", "customers", "share", "from", "to", "direction", "moves")
    return csv_answer(header, rows)
