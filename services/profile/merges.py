"""An operator's decision on a merge candidate, in one unit of work: the decision is
recorded, the merge (if confirmed) applied to profile's own state, and the event that
tells the other services published, together or not at all."""

from __future__ import annotations

import uuid

from services.profile import announcements, merge_store, merging, store
from services.profile.merging import (
    AlreadyDecided,
    CandidateNotFound,
    CustomerNotFound,
    Decided,
    Decision,
    MergeCandidate,
    MergedAlready,
    MergeRow,
    SameCustomer,
)
from services.profile.resolution import Record
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
    merge_id = derived_id(candidate.candidate_id, "merge")
    reason = merging.merge_reason(candidate.matched, decided["reason"])
    await _apply(
        uow, survivor, merged, merge_id, candidate.candidate_id, {**decided, "reason": reason}
    )
    return merge_id


async def merge_directly(
    db: Database,
    tenant_id: str,
    survivor_id: uuid.UUID,
    merged_id: uuid.UUID,
    decided: Decided,
) -> uuid.UUID:
    """An operator merges two customers they name (the survivor their choice), with
    or without a candidate. Raises ``SameCustomer``, ``CustomerNotFound`` and
    ``MergedAlready`` (either one lives on in another customer already)."""
    if survivor_id == merged_id:
        raise SameCustomer(str(survivor_id))
    async with db.unit_of_work() as uow:
        found = await merge_store.customers(uow.conn, tenant_id, [survivor_id, merged_id])
        for customer_id in (survivor_id, merged_id):
            if customer_id not in found:
                raise CustomerNotFound(customer_id)
            into = found[customer_id][1]
            if into is not None:
                raise MergedAlready(customer_id, into)
        merge_id = uuid.uuid4()
        survivor, merged = found[survivor_id][0], found[merged_id][0]
        await _apply(uow, survivor, merged, merge_id, None, decided)
        await uow.commit()
    return merge_id


async def _apply(
    uow: UnitOfWork,
    survivor: Record,
    merged: Record,
    merge_id: uuid.UUID,
    candidate_id: uuid.UUID | None,
    decided: Decided,
) -> None:
    """Plan the merge, apply it to profile's state, record it, and announce it."""
    identities = await store.identities_of(uow.conn, merged.key)
    plan = merging.plan_merge(survivor.contact, merged.contact, identities)
    row = MergeRow(
        merge_id=merge_id,
        tenant_id=survivor.key[0],
        survivor_id=survivor.key[1],
        merged_id=merged.key[1],
        candidate_id=candidate_id,
        decided_at=decided["decided_at"],
        decided_by=decided["decided_by"],
        reason=decided["reason"] or "merged by an operator",
    )
    await store.merge(uow.conn, survivor, merged, plan, row)
    uow.publish(announcements.customers_merged(row))
