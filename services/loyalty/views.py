"""Loyalty's read side: the account summary and the ledger, page by page, each as the
API answers it (``shared.contracts.loyalty``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.loyalty.domain.ledger import Ledger
from services.loyalty.store import lot_of
from services.loyalty.tables import account, ledger_entry, lot, tier_change
from shared.contracts.loyalty import (
    LedgerEntry,
    LedgerPage,
    LoyaltyAccount,
    NextExpiry,
    TierCount,
    TierDistribution,
    TierMove,
)
from shared.cursors import encode_keyset


async def loyalty_summary(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> LoyaltyAccount | None:
    """Tier, balance (the sum of the ledger), pending points, the next expiry and the
    qualifying spend, or None if the customer has no account."""
    mine = (ledger_entry.c.tenant_id == tenant_id, ledger_entry.c.customer_id == customer_id)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(account.c.tier, account.c.qualifying_spend_minor).where(
                    account.c.tenant_id == tenant_id, account.c.customer_id == customer_id
                )
            )
        ).first()
        if row is None:
            return None
        balance = await conn.scalar(
            select(func.coalesce(func.sum(ledger_entry.c.points), 0)).where(*mine)
        )
        lots = await conn.execute(
            select(lot).where(lot.c.tenant_id == tenant_id, lot.c.customer_id == customer_id)
        )
        ledger = Ledger(int(balance or 0), [lot_of(r) for r in lots.mappings()])
    expiry = ledger.next_expiry()
    return LoyaltyAccount(
        tier=row.tier,
        points_balance=ledger.balance,
        points_pending=ledger.pending,
        next_expiry=NextExpiry(points=expiry[0], at=expiry[1]) if expiry else None,
        qualifying_spend_minor=row.qualifying_spend_minor,
    )


async def ledger_page(
    engine: AsyncEngine,
    tenant_id: str,
    customer_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> LedgerPage:
    """Entries newest first, after the (at, entry_id) of a cursor; the cursor is the last
    entry's (at, entry_id), so pages stay stable while new entries arrive."""
    e = ledger_entry.c
    query = select(e.entry_id, e.kind, e.points, e.at, e.ref, e.rule).where(
        e.tenant_id == tenant_id, e.customer_id == customer_id
    )
    if after:
        at, entry_id = after
        query = query.where(or_(e.at < at, and_(e.at == at, e.entry_id < entry_id)))
    query = query.order_by(e.at.desc(), e.entry_id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    entries = [LedgerEntry.model_validate(r, from_attributes=True) for r in rows[:limit]]
    last = entries[-1] if len(rows) > limit else None
    return LedgerPage(
        entries=entries,
        next_cursor=encode_keyset(last.at, last.entry_id) if last else None,
    )


async def tier_distribution(
    engine: AsyncEngine,
    tenant: str,
    tiers: Sequence[str],
    window: tuple[datetime, datetime],
    now: datetime,
) -> TierDistribution:
    """The accounts per tier now, and the recorded moves between tiers in ``window``."""
    t, a = tier_change.c, account.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(a.tier, func.count()).where(a.tenant_id == tenant).group_by(a.tier)
        )
        counts: dict[str, int] = {tier: n for tier, n in rows}
        moves = await conn.execute(
            select(t.from_tier, t.to_tier, func.count())
            .where(t.tenant_id == tenant, t.at >= window[0], t.at < window[1])
            .group_by(t.from_tier, t.to_tier)
            .order_by(t.from_tier, t.to_tier)
        )
        movements = [_move(tiers, before, after, n) for before, after, n in moves]
    total = sum(counts.values())
    named = [*tiers, *sorted(set(counts) - set(tiers))]  # a tier since left out of the rules
    return TierDistribution.model_validate(
        {
            "as_of": now,
            "tiers": [
                TierCount(tier=n, customers=counts.get(n, 0), share=counts.get(n, 0) / (total or 1))
                for n in named
            ],
            "from_": window[0],
            "to": window[1],
            "upgrades": sum(m.moves for m in movements if m.direction == "up"),
            "downgrades": sum(m.moves for m in movements if m.direction == "down"),
            "movements": movements,
        }
    )


def _move(tiers: Sequence[str], before: str, after: str, moves: int) -> TierMove:
    rank = {name: i for i, name in enumerate(tiers)}
    up = rank.get(after, -1) > rank.get(before, -1)
    return TierMove.model_validate(
        {"from_tier": before, "to_tier": after, "direction": "up" if up else "down", "moves": moves}
    )
