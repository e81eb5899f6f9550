"""An operator's undo of a merge, in one unit of work: profile's state is taken apart,
the undo recorded beside the merge, and ``customers_unmerged`` published, together or
not at all."""

from __future__ import annotations

import uuid

from services.profile import announcements, merge_store, store, unmerging
from services.profile.merging import Decided, MergeRow
from services.profile.unmerging import AlreadyUndone, MergeNotFound, Moved, SurvivorMergedSince
from shared.uow import Database


async def undo(db: Database, tenant_id: str, merge_id: uuid.UUID, undone: Decided) -> None:
    """Take the merge apart. Raises ``MergeNotFound``, ``AlreadyUndone`` and
    ``SurvivorMergedSince`` (undo the survivor's own later merge first)."""
    async with db.unit_of_work() as uow:
        row = await merge_store.merge_row(uow.conn, tenant_id, merge_id, lock=True)
        if row is None:
            raise MergeNotFound(merge_id)
        if row["undone_at"] is not None:
            raise AlreadyUndone(merge_id)
        survivor_id, merged_id = row["survivor_id"], row["merged_id"]
        found = await merge_store.customers(uow.conn, tenant_id, [survivor_id, merged_id])
        survivor, into = found[survivor_id]
        if into is not None:
            raise SurvivorMergedSince(str(into))
        merged = found[merged_id][0]
        moved = Moved.of(row["moved"])
        held = await store.identities_of(uow.conn, survivor.key)
        plan = unmerging.plan_unmerge(moved, survivor.contact, held, merged.contact)
        reason = unmerging.undo_reason(undone["reason"])
        columns = {
            "merge_id": merge_id,
            "undone_at": undone["decided_at"],
            "undone_by": undone["decided_by"],
            "undo_reason": reason,
            "undo_moved": plan.record(),
        }
        await merge_store.unmerge(uow.conn, survivor, merged.key, moved, plan, columns)
        merge = MergeRow(
            merge_id=merge_id,
            tenant_id=tenant_id,
            survivor_id=survivor_id,
            merged_id=merged_id,
            candidate_id=row["candidate_id"],
            decided_at=row["decided_at"],
            decided_by=row["decided_by"],
            reason=row["reason"],
        )
        uow.publish(
            announcements.customers_unmerged(
                merge, list(moved.repointed), {**undone, "reason": reason}
            )
        )
        await uow.commit()
