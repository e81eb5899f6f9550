"""Lifecycle applies profile's merges on the fast tier: a merge gives the survivor one
stage, re-folded from the union of both customers' orders by event time, and one set of
statistics; an order for the merged-away customer lands on the survivor; the undo gives
each customer back its orders and its stage, with what it bought meanwhile (through its
own id, even while merged); the same order id on both sides is kept twice; a replayed
merge or undo changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.lifecycle.tables import customer_state, lifecycle_purchase
from tests.handlers.bench import NOW, Bench
from tests.handlers.test_lifecycle import ACTIVITY, DAY, bought
from tests.handlers.test_loyalty_merges import merged, unmerged

PROFILE = "lifecycle-profile"
SHOWN = ("stage", "stage_since", "orders", "revenue_minor", "first_purchase_at",
         "last_purchase_at", "reactivations")  # fmt: skip


async def state(bench: Bench, customer: uuid.UUID) -> dict[str, Any]:
    rows = await bench.rows(customer_state, customer_id=customer)
    orders = await bench.rows(lifecycle_purchase, customer_id=customer)
    return {
        "state": [{k: r[k] for k in SHOWN} for r in rows],
        "orders": sorted((o["order_id"], o["origin_id"]) for o in orders),
    }


@pytest.mark.parametrize("meanwhile", [False, True])
async def test_a_merge_refolds_one_stage_and_its_undo_gives_each_its_own(bench_of, meanwhile):
    lifecycle, li, other, merge_id = (
        await bench_of("lifecycle"), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    )  # fmt: skip
    await lifecycle.consume(
        ACTIVITY, *[bought(li, f"A-{n}", NOW - (50 - 14 * n) * DAY) for n in range(2)]
    )
    await lifecycle.consume(
        ACTIVITY, *[bought(other, f"B-{n}", NOW - (43 - 14 * n) * DAY) for n in range(3)]
    )
    before_li, before_other = await state(lifecycle, li), await state(lifecycle, other)

    await lifecycle.consume(PROFILE, merged(merge_id, li, other))
    await lifecycle.consume(PROFILE, merged(merge_id, li, other))  # a replay
    one = await state(lifecycle, li)
    assert (one["state"][0]["stage"], one["state"][0]["orders"]) == ("loyal", 5)
    assert await lifecycle.rows(customer_state, customer_id=other) == []
    if meanwhile:
        await lifecycle.consume(ACTIVITY, bought(li, "M-1", NOW - DAY))
        assert (await state(lifecycle, li))["state"][0]["orders"] == 6
        await lifecycle.consume(ACTIVITY, bought(other, "B-9", NOW - DAY))  # through the merged id
        assert (await state(lifecycle, li))["state"][0]["orders"] == 7

    await lifecycle.consume(PROFILE, unmerged(merge_id, li, other))
    await lifecycle.consume(PROFILE, unmerged(merge_id, li, other))  # a replay

    theirs = await state(lifecycle, other)
    if meanwhile:  # B-9 came for them: theirs again, in their stage and statistics
        assert theirs["orders"] == sorted([*before_other["orders"], ("B-9", None)])
        assert theirs["state"][0]["orders"] == before_other["state"][0]["orders"] + 1
    else:
        assert theirs == before_other
    after = await state(lifecycle, li)
    if meanwhile:
        assert after["orders"] == sorted([*before_li["orders"], ("M-1", None)])
        assert (after["state"][0]["orders"], after["state"][0]["stage"]) == (3, "active")
    else:
        assert after == before_li


async def test_the_same_order_id_on_both_sides_is_kept_twice_and_each_gets_its_own(bench_of):
    lifecycle, li, other, merge_id = (
        await bench_of("lifecycle"), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    )  # fmt: skip
    await lifecycle.consume(ACTIVITY, bought(li, "O-1", NOW - 20 * DAY, 1000))
    await lifecycle.consume(ACTIVITY, bought(other, "O-1", NOW - 10 * DAY, 5000))  # another till
    before_li, before_other = await state(lifecycle, li), await state(lifecycle, other)

    await lifecycle.consume(PROFILE, merged(merge_id, li, other))
    assert lifecycle.dead_letters() == []
    one = (await state(lifecycle, li))["state"][0]
    assert (one["orders"], one["revenue_minor"]) == (2, 6000)

    await lifecycle.consume(PROFILE, unmerged(merge_id, li, other))
    assert await state(lifecycle, li) == before_li
    assert await state(lifecycle, other) == before_other
