"""Merges over HTTP (reached through the gateway, which admits only an ``admin`` key of
the tenant and writes the acting key into the body): merge two customers an operator
names, read a merge's record, and undo it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.profile import merge_store, merges, unmerges
from services.profile.merging import CustomerNotFound, Decided, MergedAlready, SameCustomer
from services.profile.unmerging import AlreadyUndone, MergeNotFound, SurvivorMergedSince
from shared.contracts.profile import MergeRecord, RecordedMergeRequest, RecordedUndo
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1/customers/merges", tags=["profile"])


@router.post("", status_code=201)
async def merge(runtime: RuntimeDep, tenant: TenantDep, body: RecordedMergeRequest) -> MergeRecord:
    """Merge ``merged_id`` into ``survivor_id``; ``crm.profile.customers_merged.v1``
    tells the other services."""
    decided = Decided(
        decided_at=runtime.db.clock.now(), decided_by=body.decided_by, reason=body.reason
    )
    try:
        merge_id = await merges.merge_directly(
            runtime.db, tenant, body.survivor_id, body.merged_id, decided
        )
    except SameCustomer as error:
        raise Problem(
            422,
            "merge-same-customer",
            "survivor_id and merged_id name the same customer; a customer cannot be merged "
            "with itself.",
        ) from error
    except CustomerNotFound as error:
        raise Problem(
            404, "customer-not-found", f"No customer {error.customer_id} exists in this tenant."
        ) from error
    except MergedAlready as error:
        raise Problem(
            409,
            "customer-merged",
            f"Customer {error.customer_id} was merged into {error.into} already; merge that "
            "customer, or undo its merge first.",
            into=str(error.into),
        ) from error
    return await _record(runtime, tenant, merge_id)


@router.get("/{merge_id}")
async def read(runtime: RuntimeDep, tenant: TenantDep, merge_id: uuid.UUID) -> MergeRecord:
    """Who merged, when, why and what moved; and the undo, if any."""
    return await _record(runtime, tenant, merge_id)


@router.post("/{merge_id}/undo")
async def undo(
    runtime: RuntimeDep, tenant: TenantDep, merge_id: uuid.UUID, body: RecordedUndo
) -> MergeRecord:
    """Take the merge apart; ``crm.profile.customers_unmerged.v1`` tells the others."""
    undone = Decided(
        decided_at=runtime.db.clock.now(), decided_by=body.undone_by, reason=body.reason
    )
    try:
        await unmerges.undo(runtime.db, tenant, merge_id, undone)
    except MergeNotFound as error:
        raise Problem(404, "merge-not-found", _missing(merge_id)) from error
    except AlreadyUndone as error:
        raise Problem(
            409, "merge-undone", f"Merge {merge_id} was undone already; an undo is final."
        ) from error
    except SurvivorMergedSince as error:
        raise Problem(
            409,
            "merge-superseded",
            f"The survivor of merge {merge_id} was merged into {error.into} since; undo "
            "that merge first.",
            into=error.into,
        ) from error
    return await _record(runtime, tenant, merge_id)


async def _record(runtime: RuntimeDep, tenant: str, merge_id: uuid.UUID) -> MergeRecord:
    record = await merge_store.merge_record(runtime.db.engine, tenant, merge_id)
    if record is None:
        raise Problem(404, "merge-not-found", _missing(merge_id))
    return record


def _missing(merge_id: uuid.UUID) -> str:
    return f"No merge {merge_id} exists in this tenant."
