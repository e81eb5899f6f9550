"""The gateway's record of erased customers on the fast tier (migrated SQLite): a
recorded erasure refuses the customer and those merged into it at once, in their tenant
only, and makes every replica drop the subject keys it cached (within its look
interval), so that no key profile destroyed seals anything more."""

from __future__ import annotations

import uuid

import pytest

from services.gateway import erased
from shared.contracts.privacy import ErasureJob
from shared.problems import Problem
from shared.sealing import KeyCache, SubjectKey, new_secret
from tests.handlers.bench import NOW, TENANT


def job(customer: uuid.UUID, *merged: uuid.UUID) -> ErasureJob:
    return ErasureJob(
        erasure_id=uuid.uuid4(),
        customer_id=customer,
        merged_ids=list(merged),
        reason="art. 17",
        requested_at=NOW,
        requested_by="api-key:test",
        status="erasing",
        services=[],
        completed_at=None,
        seconds=None,
    )


async def test_an_erased_customer_and_those_merged_into_it_are_refused_in_their_tenant(
    bench_of,
) -> None:
    db = (await bench_of("gateway")).runtime.db
    customer, merged, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await erased.record(db, TENANT, job(customer, merged), NOW)
    await erased.record(db, TENANT, job(customer, merged), NOW)  # a retried request

    for refused in (customer, merged, str(customer)):
        with pytest.raises(Problem) as answer:
            await erased.refuse_if_erased(db, TENANT, refused)
        assert (answer.value.status, answer.value.slug) == (404, "customer-erased")
    await erased.refuse_if_erased(db, TENANT, other)  # never erased
    await erased.refuse_if_erased(db, "another-tenant", customer)  # another tenant's id
    await erased.refuse_if_erased(db, TENANT, "not-a-uuid")  # left to the route's 422


async def test_every_replica_drops_its_cached_keys_after_an_erasure(bench_of) -> None:
    db = (await bench_of("gateway")).runtime.db
    here, there = KeyCache[str](), KeyCache[str]()
    watches = erased.ErasureWatch(db, here, 0.0), erased.ErasureWatch(db, there, 0.0)
    for cache, watch in zip((here, there), watches, strict=True):
        await watch.fresh()  # the first look: nothing erased yet
        cache.put("pos/C-1", SubjectKey("k1", new_secret()))
        await watch.fresh()
        assert cache.get("pos/C-1")[0], "nothing was erased: the key stays cached"

    await erased.record(db, TENANT, job(uuid.uuid4()), NOW)
    for cache, watch in zip((here, there), watches, strict=True):
        await watch.fresh()
        assert cache.get("pos/C-1") == (False, None)


async def test_a_replica_looks_at_most_once_per_interval(bench_of) -> None:
    db = (await bench_of("gateway")).runtime.db
    cache = KeyCache[str]()
    watch = erased.ErasureWatch(db, cache, interval=3600.0)
    await watch.fresh()
    cache.put("pos/C-1", SubjectKey("k1", new_secret()))
    await erased.record(db, TENANT, job(uuid.uuid4()), NOW)
    await watch.fresh()
    assert cache.get("pos/C-1")[0], "looked again within the interval"
    watch.erased_here()  # this replica erased someone: dropped at once
    assert cache.get("pos/C-1") == (False, None)
