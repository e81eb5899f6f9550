"""Try a loyalty programme on loyalty's history before it goes live.

    python -m services.loyalty.replay --rules NEW_RULES.toml [--tenant T]

Folds the history into two shadow databases, under the programme in force and under
the candidate, and prints how the points issued and customers per tier differ, with
a sample of customers whose points or tier would change and why
(``services.replaying``). Allowed while the service runs: nothing live is written,
nothing published, no offset committed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import app
from services.loyalty.tables import account, ledger_entry
from services.replaying import Replayable, main
from shared.replay_diff import Outcome, Value


async def outcome(conn: AsyncConnection, tenant: str | None) -> Outcome:
    """Each customer's tier and points issued (every credit of the ledger: earned,
    goodwill, released); the total issued, and customers per tier."""
    a, e = account, ledger_entry
    tiers = select(a.c.tenant_id, a.c.customer_id, a.c.tier)
    issued = (
        select(e.c.tenant_id, e.c.customer_id, func.sum(e.c.points).label("points"))
        .where(e.c.points > 0)
        .group_by(e.c.tenant_id, e.c.customer_id)
    )
    if tenant is not None:
        tiers, issued = tiers.where(a.c.tenant_id == tenant), issued.where(e.c.tenant_id == tenant)
    customers: dict[tuple[str, str], dict[str, Value]] = {}
    per_tier: dict[str, int] = {}
    for row in await conn.execute(tiers):
        customers[(row.tenant_id, str(row.customer_id))] = {"tier": row.tier, "points_issued": 0}
        per_tier[row.tier] = per_tier.get(row.tier, 0) + 1
    total = 0
    for row in await conn.execute(issued):
        who = customers.setdefault((row.tenant_id, str(row.customer_id)), {"tier": None})
        who["points_issued"], total = int(row.points), total + int(row.points)
    counts = {"points_issued": {"total": total}, "customers_per_tier": per_tier}
    return Outcome(counts=counts, customers=customers)


REPLAY = Replayable("loyalty", "loyalty", app.sweep, outcome)

if __name__ == "__main__":
    main(REPLAY)
