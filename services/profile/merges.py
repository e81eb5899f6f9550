"""An operator's decision on a merge candidate, in one unit of work: the decision is
recorded, the merge (if confirmed) applied to profile's own state, and the event that
tells the other services published, together or not at all."""

from __future__ import annotations

import uuid

from services.profile import announcements, merging, store
from services.profile.merging import (
    AlreadyDecided,
    CandidateNotFound,
    Decided,
    Decision,
    MergeCandidate,
    MergeRow,
)
from shared.events.envelope import derived_id
from shared.uow import Database, UnitOfWork


async def decide(
    db: Database,
    tenant_id: str,
    candidate_id: uuid.UUID,
    decision: Decision,
    *,
    decided_by: str | None,
    reason: str | None,
) -> None:
    """Confirm or dismiss a candidate; repeating the decision taken changes nothing.

    Raises ``CandidateNotFound`` and ``AlreadyDecided`` (decided the other way)."""
    async with db.unit_of_work() as uow:
        candidate = await store.candidate(uow.conn, tenant_id, candidate_id)
        if candidate is None:
            raise CandidateNotFound(candidate_id)
        verdict = merging.judge(candidate.status, decision)
        if verdict == "conflict":
            raise AlreadyDecided(candidate.status)
        if verdict == "repeat":
            return
        decided = Decided(decided_at=db.clock.now(), decided_by=decided_by, reason=reason)
        merge_id = None
        if decision == "confirm":
            merge_id = await _merge(uow, candidate, decided)
        else:
            uow.publish(announcements.merge_candidate_dismissed(candidate, decided))
        await store.decide(
            uow.conn, candidate_id, merging.STATUS_AFTER[decision], decided, merge_id
        )
        await uow.commit()


async def _merge(uow: UnitOfWork, candidate: MergeCandidate, decided: Decided) -> uuid.UUID | None:
    """Merge the candidate's customers as they are now (either may have been merged
    into a third since: then its survivor stands in); None when they already are one."""
    tenant = candidate.tenant_id
    wanted = [(tenant, candidate.survivor_id), (tenant, candidate.merged_id)]
    records, moved = await store.live_records(uow.conn, wanted)
    survivor, merged = (records[moved.get(k, k)] for k in wanted)
    if survivor.key == merged.key:
        return None
    identities = await store.identities_of(uow.conn, merged.key)
    plan = merging.plan_merge(survivor.contact, merged.contact, identities)
    merge_id = derived_id(candidate.candidate_id, "merge")
    reason = merging.merge_reason(candidate.matched, decided["reason"])
    row = MergeRow(
        merge_id=merge_id,
        tenant_id=tenant,
        survivor_id=survivor.key[1],
        merged_id=merged.key[1],
        candidate_id=candidate.candidate_id,
        decided_at=decided["decided_at"],
        decided_by=decided["decided_by"],
        reason=reason,
    )
    await store.merge(uow.conn, survivor, merged, plan, row)
    uow.publish(announcements.customers_merged(row))
    return merge_id
