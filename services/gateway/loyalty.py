"""Loyalty routes, forwarded to the loyalty service."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from services.gateway import audit, examples
from services.gateway.auth import (
    Admin,
    LoyaltyAdjuster,
    LoyaltyWriter,
    Reader,
    UpstreamsDep,
    acting_key,
    failures,
    refuse_all_tenants_unless_operator,
)
from services.gateway.keys import Principal
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts.loyalty import (
    Adjustment,
    AdjustmentRequest,
    IdempotencyKey,
    LedgerCursor,
    LedgerEntry,
    LedgerLimit,
    LedgerPage,
    LoyaltyAccount,
    LoyaltySweep,
    MovesEnd,
    MovesStart,
    RecordedAdjustment,
    RedemptionRequest,
    TierDistribution,
)
from shared.contracts.query import Id
from shared.contracts.sweeps import AllTenants
from shared.tabular import CSV_CONTENT

router = APIRouter(prefix="/v1", tags=["loyalty"])


@router.get(
    "/customers/{customer_id}/loyalty",
    response_model=LoyaltyAccount,
    responses=failures(404) | examples.answer(200, examples.LOYALTY_ACCOUNT),
)
async def get_loyalty(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's tier, available and pending points, and the next expiry."""
    path = f"/v1/customers/{customer_id}/loyalty"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)


@router.get(
    "/customers/{customer_id}/loyalty/ledger", response_model=LedgerPage, responses=failures(404)
)
async def get_ledger(
    customer_id: Id,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: LedgerLimit = 50,
    cursor: LedgerCursor = None,
) -> Response:
    """The customer's ledger entries, newest first (``cursor`` from the previous page)."""
    path = f"/v1/customers/{customer_id}/loyalty/ledger"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)


@router.post(
    "/customers/{customer_id}/loyalty/redemptions",
    status_code=201,
    response_model=LedgerEntry,
    responses=failures(400, 404, 409, 413) | examples.answer(201, examples.REDEMPTION),
)
async def redeem_points(
    customer_id: Id,
    body: RedemptionRequest,
    request: Request,
    caller: LoyaltyWriter,
    upstreams: UpstreamsDep,
    idempotency_key: IdempotencyKey,
    runtime: RuntimeDep,
) -> Response:
    """Spend points; ``409 insufficient-points`` when short, and a repeated
    ``Idempotency-Key`` returns the first answer (``409`` if its body differs)."""
    path = f"/v1/customers/{customer_id}/loyalty/redemptions"
    decision = _keyed("loyalty.redeemed", customer_id, body, caller, idempotency_key)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("loyalty", path, caller.tenant_id, request),
    )


@router.post(
    "/customers/{customer_id}/loyalty/adjustments",
    status_code=201,
    response_model=Adjustment,
    responses=failures(400, 404, 409, 413) | examples.answer(201, examples.ADJUSTMENT),
)
async def adjust_points(
    customer_id: Id,
    body: AdjustmentRequest,
    request: Request,
    caller: LoyaltyAdjuster,
    upstreams: UpstreamsDep,
    idempotency_key: IdempotencyKey,
    runtime: RuntimeDep,
) -> Response:
    """Credit (> 0) or debit (< 0) points by hand (scope ``loyalty:adjust``), recorded
    with the deciding key; ``409 adjustment-cap`` past the programme's caps (the detail
    says what is allowed), ``409 insufficient-points`` for a debit past the balance, and
    a repeated ``Idempotency-Key`` returns the first answer (``409`` if its body differs)."""
    recorded = RecordedAdjustment(**body.model_dump(), adjusted_by=acting_key(caller))
    forwarded = with_body(request, recorded.model_dump_json().encode())
    path = f"/v1/customers/{customer_id}/loyalty/adjustments"
    decision = _keyed("loyalty.adjusted", customer_id, body, caller, idempotency_key)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("loyalty", path, caller.tenant_id, forwarded),
    )


def _keyed(
    action: str, customer_id: object, body: BaseModel, caller: Principal, idempotency_key: str
) -> audit.Decision:
    """A ledger write asked with an Idempotency-Key: one decision however often it is
    repeated (its entry is written once per key and caller)."""
    return audit.Decision(
        action,
        f"customer:{customer_id}",
        after=body.model_dump(),
        dedupe=f"{caller.key_id}:{idempotency_key}",
    )


@router.post("/loyalty/sweep", tags=["admin"], response_model=LoyaltySweep, responses=failures())
async def sweep(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
    all_tenants: AllTenants = False,
) -> Response:
    """Run the caller's tenant's loyalty expiries, releases and tier reviews due now
    (every tenant's with ``?all_tenants=true``, operator only)."""
    refuse_all_tenants_unless_operator(caller, all_tenants)
    return await audit.forwarded(
        runtime.db,
        caller,
        audit.swept("loyalty", all_tenants),
        lambda: upstreams.forward("loyalty", "/v1/loyalty/sweep", caller.tenant_id, request),
    )


@router.get(
    "/loyalty/tiers/distribution",
    response_model=TierDistribution,
    responses=failures() | CSV_CONTENT,
)
async def get_tier_distribution(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    start: MovesStart = None,
    end: MovesEnd = None,
) -> Response:
    """Customers per tier now (programme order), and the moves between tiers in [from, to)
    (default: the last 30 days); 422 if ``from`` lies after ``to``."""
    path = "/v1/loyalty/tiers/distribution"
    return await upstreams.forward("loyalty", path, caller.tenant_id, request)
