"""Segment membership on the fast tier (SQLite, the in-memory bus): it follows consent
and attributes as crm.profile announces them (a late, older consent decision changes
nothing), a saved segment takes in the customers already known at the next sweep, a
merged customer leaves its segments, and a deleted segment's members exit it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from services.profile import segment_defs, segmenting
from services.profile.tables import segment_activity, segment_member, subject_key
from shared.events.activity import PurchaseCompleted
from shared.events.profile import (
    ConsentChanged,
    CustomerRecordUpdated,
    CustomersMerged,
    SegmentEntered,
    SegmentExited,
)
from shared.sealing import SubjectKey, new_secret, seal_payload
from tests.handlers.bench import NOW, TENANT, Bench, event

VIEW = "profile-view"
MAILABLE_GOLD = {
    "all": [
        {"attribute": "plan", "op": "eq", "value": "gold"},
        {"consent": {"channel": "email", "purpose": "marketing"}},
        {"activity": "purchase_completed", "within_days": 30},
    ]
}


def consent(granted: bool, hours_ago: float = 0) -> ConsentChanged:
    at = NOW - timedelta(hours=hours_ago)
    return ConsentChanged(
        channel="email", purpose="marketing", granted=granted, at=at, source="pos"
    )


def plan(customer: uuid.UUID, value: str, version: int) -> CustomerRecordUpdated:
    return CustomerRecordUpdated(
        customer_id=str(customer),
        version=version,
        attributes={"plan": value},
        changed=["plan"],
        source="pos",
        updated_at=NOW,
    )


def bought(order: str) -> PurchaseCompleted:
    return PurchaseCompleted(order_id=order, amount_minor=1000, currency="EUR", channel="web")


async def define(bench: Bench, rule: dict[str, Any], name: str = "Mailable gold") -> uuid.UUID:
    segment_id = uuid.uuid4()
    wanted = segment_defs.Definition(name, "", rule)
    await segment_defs.save(bench.runtime.db, bench.clock, TENANT, segment_id, wanted)
    return segment_id


async def members(bench: Bench, segment_id: uuid.UUID) -> set[uuid.UUID]:
    return {r["customer_id"] for r in await bench.rows(segment_member, segment_id=segment_id)}


async def test_membership_follows_consent_and_attributes(bench_of):
    profile = await bench_of("profile")
    segment_id = await define(profile, MAILABLE_GOLD)
    li = uuid.uuid4()
    await profile.consume(VIEW, event(bought("O-1"), li), event(plan(li, "gold", 2), li))
    assert await members(profile, segment_id) == set()  # no consent yet

    await profile.consume(VIEW, event(consent(True), li))
    assert await members(profile, segment_id) == {li}
    await profile.consume(VIEW, event(consent(False, hours_ago=5), li))  # older: no change
    assert await members(profile, segment_id) == {li}
    await profile.consume(VIEW, event(plan(li, "basic", 3), li))
    await profile.consume(VIEW, event(plan(li, "gold", 2), li))  # an older version: no change
    assert await members(profile, segment_id) == set()

    entered, exited = await profile.payloads(SegmentEntered), await profile.payloads(SegmentExited)
    assert [(e.segment_id, e.name) for e in entered] == [(str(segment_id), "Mailable gold")]
    assert [(e.segment_id, e.reason) for e in exited] == [(str(segment_id), "rule")]


async def test_a_saved_segment_takes_in_known_customers_at_the_next_sweep(bench_of):
    profile = await bench_of("profile")
    li, wei = uuid.uuid4(), uuid.uuid4()
    await profile.consume(VIEW, event(bought("O-1"), li), event(bought("O-2"), wei))
    await profile.consume(VIEW, event(bought("O-3"), wei))
    repeat = {"activity": "purchase_completed", "within_days": 30, "at_least": 2}
    segment_id = await define(profile, repeat, "Repeat")
    assert await members(profile, segment_id) == set()

    swept = await segmenting.sweep(profile.runtime.db, profile.clock)
    assert swept.counts == {"evaluated": 2, "entered": 1, "exited": 0}
    assert await members(profile, segment_id) == {wei}

    assert await segment_defs.remove(profile.runtime.db, profile.clock, TENANT, segment_id)
    assert await members(profile, segment_id) == set()
    [exited] = await profile.payloads(SegmentExited)
    assert exited.reason == "segment_deleted"
    assert not await segment_defs.remove(profile.runtime.db, profile.clock, TENANT, segment_id)


async def test_a_merged_customer_leaves_its_segments(bench_of):
    profile = await bench_of("profile")
    segment_id = await define(profile, {"activity": "purchase_completed", "within_days": 30})
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    await profile.consume(VIEW, event(bought("O-1"), survivor), event(bought("O-2"), merged))
    assert await members(profile, segment_id) == {survivor, merged}

    merge = CustomersMerged(
        merge_id=str(uuid.uuid4()),
        survivor_id=str(survivor),
        merged_id=str(merged),
        decided_at=NOW,
        reason="one person",
    )
    await profile.consume(VIEW, event(merge, survivor))

    assert await members(profile, segment_id) == {survivor}
    [exited] = await profile.payloads(SegmentExited)
    assert (exited.reason, (await profile.published(SegmentExited))[0].subject) == (
        "merged",
        str(merged),
    )


async def test_a_window_edge_is_a_due_row_the_sweep_takes_when_the_clock_passes_it(bench_of):
    profile = await bench_of("profile")
    segment_id = await define(profile, {"activity": "purchase_completed", "within_days": 30})
    li = uuid.uuid4()
    await profile.consume(VIEW, event(bought("O-1"), li, NOW - timedelta(days=10)))
    assert await members(profile, segment_id) == {li}

    profile.clock.move_to(NOW + timedelta(days=20) - timedelta(seconds=1))
    assert (await segmenting.sweep(profile.runtime.db, profile.clock)).counts == {"evaluated": 0}
    assert await members(profile, segment_id) == {li}
    profile.clock.move_to(NOW + timedelta(days=20))
    swept = await segmenting.sweep(profile.runtime.db, profile.clock)
    assert swept.counts == {"evaluated": 1, "entered": 0, "exited": 1}
    assert await members(profile, segment_id) == set()


async def test_facts_folded_before_any_segment_existed_count_for_a_segment_saved_later(bench_of):
    profile = await bench_of("profile")
    li, wei = uuid.uuid4(), uuid.uuid4()
    await profile.consume(VIEW, event(bought("O-1"), li), event(bought("O-2"), wei))
    await profile.consume(VIEW, event(plan(li, "gold", 2), li), event(consent(True), li))
    await profile.consume(VIEW, event(plan(wei, "gold", 2), wei))  # no consent

    segment_id = await define(profile, MAILABLE_GOLD)
    swept = await segmenting.sweep(profile.runtime.db, profile.clock)
    assert swept.counts == {"evaluated": 2, "entered": 1, "exited": 0}
    assert await members(profile, segment_id) == {li}


async def test_a_segment_on_a_sealed_property_sees_it_opened_and_nothing_once_erased(bench_of):
    """Properties travel sealed on crm.activity; the 360's consumer opens them with the
    subject's key before the segments fold them, and with the key destroyed (erasure)
    they open to nothing, so the segment no longer holds the customer."""
    profile = await bench_of("profile")
    gifted = {"activity": "purchase_completed", "within_days": 30,
              "where": [{"property": "gift_for", "op": "eq", "value": "Mei"}]}  # fmt: skip
    segment_id = await define(profile, gifted, "Gifts for Mei")
    li, secret = uuid.uuid4(), new_secret()
    kid = uuid.uuid4()
    async with profile.engine.begin() as conn:
        await conn.execute(
            subject_key.insert().values(kid=kid, tenant_id=TENANT, source="pos",
                                        external_id="C-1", secret=secret, created_at=NOW)
        )  # fmt: skip
    key = SubjectKey(str(kid), secret)
    noted = PurchaseCompleted(
        order_id="O-1", amount_minor=1000, currency="EUR", channel="web",
        properties={"gift_for": "Mei"},
    )  # fmt: skip
    sealed = seal_payload(noted, key)
    assert sealed.properties == {}

    await profile.consume(VIEW, event(sealed, li))
    assert await members(profile, segment_id) == {li}
    [kept] = await profile.rows(segment_activity, customer_id=li)
    assert kept["properties"] == {"gift_for": "Mei"}

    async with profile.engine.begin() as conn:
        await conn.execute(subject_key.delete().where(subject_key.c.kid == kid))
    again = seal_payload(noted.model_copy(update={"order_id": "O-2"}), key)
    await profile.consume(VIEW, event(again, li, NOW + timedelta(hours=1)))
    stored = {r["at"]: r["properties"] for r in await profile.rows(segment_activity)}
    assert stored[NOW + timedelta(hours=1)] == {}  # erased: the sealed properties open empty
