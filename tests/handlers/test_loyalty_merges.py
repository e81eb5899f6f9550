"""Loyalty applies profile's merges on the fast tier: a merge gives the survivor one
balance and one ledger (the higher tier kept), an event for the merged-away customer
lands on the survivor and never reopens its account, and the undo gives each customer
back its own entries and lots, the survivor keeping what it earned meanwhile and the
merged customer getting what came through its id meanwhile; a redemption while merged
is split back by the lots it spent; the same order id on both sides is kept twice; a
merge or an undo applied twice changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.loyalty import redemptions
from services.loyalty.tables import account, ledger_entry, lot, parked
from shared.events import CloudEvent
from shared.events.activity import OrderRefunded
from shared.events.loyalty import PointsAdjusted
from shared.events.profile import CustomersMerged, CustomersUnmerged
from tests.handlers.bench import NOW, TENANT, Bench, event
from tests.handlers.test_loyalty import ACTIVITY, HOUR, bought, summary

PROFILE = "loyalty-profile"


def merged(merge_id: uuid.UUID, survivor: uuid.UUID, other: uuid.UUID) -> CloudEvent:
    return event(CustomersMerged(merge_id=str(merge_id), survivor_id=str(survivor),
                                 merged_id=str(other), decided_at=NOW, reason="same person"),
                 survivor, NOW)  # fmt: skip


def unmerged(merge_id: uuid.UUID, survivor: uuid.UUID, other: uuid.UUID) -> CloudEvent:
    return event(CustomersUnmerged(merge_id=str(merge_id), survivor_id=str(survivor),
                                   merged_id=str(other), undone_at=NOW + 2 * HOUR,
                                   reason="two people"),
                 survivor, NOW + 2 * HOUR)  # fmt: skip


async def state(bench: Bench, customer: uuid.UUID) -> dict[str, Any]:
    """What an undo must give back: the account, its entries and lots."""
    skip = {"updated_at", "qualifying_spend_minor", "next_due_at"}
    rows = await bench.rows(account, tenant_id=TENANT, customer_id=customer)
    entries = await bench.rows(ledger_entry, tenant_id=TENANT, customer_id=customer)
    lots = await bench.rows(lot, tenant_id=TENANT, customer_id=customer)
    return {
        "account": [{k: v for k, v in r.items() if k not in skip} for r in rows],
        "entries": sorted((e["entry_id"], e["points"], e["origin_id"]) for e in entries),
        "lots": sorted((x["lot_id"], x["remaining"], x["origin_id"]) for x in lots),
    }


@pytest.mark.parametrize("meanwhile", [0, 1, 2])
async def test_a_merge_gives_one_balance_and_its_undo_gives_each_its_own(bench_of, meanwhile):
    loyalty, li, other, merge_id = (
        await bench_of("loyalty"),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
    )
    await loyalty.consume(ACTIVITY, bought(li, "O-1", 100000, NOW - 3 * HOUR))
    await loyalty.consume(ACTIVITY, bought(other, "S-1", 2500000, NOW - 2 * HOUR))
    before_li, before_other = await state(loyalty, li), await state(loyalty, other)
    causes_other = await _causes(loyalty, other)

    await loyalty.consume(PROFILE, merged(merge_id, li, other))
    await loyalty.consume(PROFILE, merged(merge_id, li, other))  # a replay
    one = await summary(loyalty, li)
    assert (one["points_balance"], one["tier"]) == (1000 + 25000, "gold")
    assert one["qualifying_spend_minor"] == 2600000
    assert await loyalty.rows(account, customer_id=other) == []
    await loyalty.consume(ACTIVITY, bought(other, "S-0", 1000, NOW - 4 * HOUR))  # late, merged id
    assert await loyalty.rows(account, customer_id=other) == []
    for i in range(meanwhile):
        await loyalty.consume(ACTIVITY, bought(li, f"M-{i}", 10000, NOW + HOUR))

    await loyalty.consume(PROFILE, unmerged(merge_id, li, other))
    await loyalty.consume(PROFILE, unmerged(merge_id, li, other))  # a replay

    assert (await state(loyalty, other))["account"] == before_other["account"]
    late = {("entry", "order:S-0", 15), ("lot", "order:S-0", 15)}
    assert await _causes(loyalty, other) == causes_other | late  # it came for them
    after = await state(loyalty, li)
    assert len(after["entries"]) == len(before_li["entries"]) + meanwhile
    assert after["account"] == before_li["account"] or meanwhile > 0
    balances = (await summary(loyalty, li))["points_balance"], (await summary(loyalty, other))
    assert balances[0] == 1000 + 150 * meanwhile  # earned at gold while merged
    assert (balances[1]["points_balance"], balances[1]["tier"]) == (25000 + 15, "gold")


async def _causes(bench: Bench, customer: uuid.UUID) -> set[tuple[str, str, int]]:
    """Each entry and lot by what caused it and its points (their ids follow the account)."""
    entries = await bench.rows(ledger_entry, tenant_id=TENANT, customer_id=customer)
    lots = await bench.rows(lot, tenant_id=TENANT, customer_id=customer)
    return {("entry", e["ref"], e["points"]) for e in entries} | {
        ("lot", x["ref"], x["remaining"]) for x in lots
    }


async def _held(bench: Bench, customer: uuid.UUID) -> int:
    """What the customer's credited lots hold."""
    lots = await bench.rows(lot, tenant_id=TENANT, customer_id=customer, credited=True)
    return sum(x["remaining"] for x in lots)


async def test_a_redemption_while_merged_is_split_back_by_the_lots_it_spent(bench_of):
    loyalty, li, other, merge_id = (
        await bench_of("loyalty"), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    )  # fmt: skip
    await loyalty.consume(ACTIVITY, bought(li, "O-1", 100000, NOW - 3 * HOUR))  # 1000, first out
    await loyalty.consume(ACTIVITY, bought(other, "S-1", 2500000, NOW - 2 * HOUR))  # 25000
    await loyalty.consume(PROFILE, merged(merge_id, li, other))
    programme = await loyalty.runtime.resources.current(loyalty.engine, TENANT)
    spend = redemptions.Redeem(TENANT, li, "gift-1", 20000, "gift")
    await redemptions.redeem(loyalty.runtime.db, spend, programme)  # 1000 of li's, 19000 of S-1

    await loyalty.consume(PROFILE, unmerged(merge_id, li, other))
    await loyalty.consume(PROFILE, unmerged(merge_id, li, other))  # a replay

    ours, theirs = await summary(loyalty, li), await summary(loyalty, other)
    assert (ours["points_balance"], theirs["points_balance"]) == (0, 25000 - 19000)
    assert (await _held(loyalty, li), await _held(loyalty, other)) == (0, 6000)
    adjusted = await loyalty.payloads(PointsAdjusted)
    assert sorted((a.points, a.balance_after) for a in adjusted) == [(-19000, 6000), (19000, 0)]


async def test_the_same_order_on_both_sides_is_kept_twice_and_each_gets_its_own_back(bench_of):
    loyalty, li, other, merge_id = (
        await bench_of("loyalty"), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    )  # fmt: skip
    await loyalty.consume(ACTIVITY, bought(li, "O-1", 100000, NOW - 3 * HOUR))
    await loyalty.consume(ACTIVITY, bought(other, "O-1", 2500000, NOW - 2 * HOUR))  # another till
    before_li, before_other = await state(loyalty, li), await state(loyalty, other)
    causes_li, causes_other = await _causes(loyalty, li), await _causes(loyalty, other)

    await loyalty.consume(PROFILE, merged(merge_id, li, other))
    assert loyalty.dead_letters() == []
    assert (await summary(loyalty, li))["points_balance"] == 1000 + 25000
    assert len(await loyalty.rows(lot, customer_id=li)) == 2

    await loyalty.consume(PROFILE, unmerged(merge_id, li, other))
    assert (await state(loyalty, li), await state(loyalty, other)) == (before_li, before_other)
    assert (await _causes(loyalty, li), await _causes(loyalty, other)) == (causes_li, causes_other)


async def test_a_refund_that_waited_for_its_order_through_the_merged_id_is_applied(bench_of):
    loyalty, li, other, merge_id = (
        await bench_of("loyalty"), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    )  # fmt: skip
    await loyalty.consume(ACTIVITY, bought(other, "S-1", 100000, NOW - 3 * HOUR))
    await loyalty.consume(PROFILE, merged(merge_id, li, other))
    refund = OrderRefunded(order_id="S-5", amount_minor=100000, currency="CNY")
    await loyalty.consume(ACTIVITY, event(refund, other, NOW - HOUR))  # before its order
    await loyalty.consume(ACTIVITY, bought(other, "S-5", 100000, NOW - 2 * HOUR))
    assert await loyalty.rows(parked) == []
    assert (await summary(loyalty, li))["points_balance"] == 1000  # S-5's earned and taken back

    await loyalty.consume(PROFILE, unmerged(merge_id, li, other))
    assert ("lot", "order:S-5", 0) in await _causes(loyalty, other)
    assert (await summary(loyalty, other))["points_balance"] == 1000
