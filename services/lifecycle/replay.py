"""Try a stage machine on lifecycle's history before it goes live.

    python -m services.lifecycle.replay --rules NEW_STAGES.toml [--tenant T]

Folds the history into two shadow databases, under the stage machine in force and
under the candidate, and prints how customers per stage differ, with a sample of
customers who would move and why (``services.replaying``). Allowed while the service
runs: nothing live is written, nothing published, no offset committed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.lifecycle import app
from services.lifecycle.tables import customer_state
from services.replaying import Replayable, main
from shared.replay_diff import Outcome


async def outcome(conn: AsyncConnection, tenant: str | None) -> Outcome:
    """Each customer's stage, and customers per stage."""
    s = customer_state
    query = select(s.c.tenant_id, s.c.customer_id, s.c.stage)
    if tenant is not None:
        query = query.where(s.c.tenant_id == tenant)
    found = Outcome(counts={"customers_per_stage": {}})
    per_stage = found.counts["customers_per_stage"]
    for row in await conn.execute(query):
        found.customers[(row.tenant_id, str(row.customer_id))] = {"stage": row.stage}
        per_stage[row.stage] = per_stage.get(row.stage, 0) + 1
    return found


REPLAY = Replayable("lifecycle", "lifecycle", app.sweep, outcome)

if __name__ == "__main__":
    main(REPLAY)
