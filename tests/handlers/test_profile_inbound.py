"""Profile's inbound consumer on the fast tier: a partner reference is the only key it
links on (an unknown one makes a customer), a shared e-mail or phone opens a merge
candidate instead, contact details change only by the source that owns them, every
activity goes on keyed by its customer, the same event twice has one effect, and an
event that names no customer is dead-lettered."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from services.profile import views
from services.profile.tables import customer, identity, merge_candidate
from shared.events import encode
from shared.events.activity import PurchaseCompleted
from shared.events.profile import CustomerCreated, MergeCandidateFound
from tests.handlers.bench import LI, TENANT, Bench, inbound

GROUP = "profile-inbound"


async def lookup(bench: Bench, source: str, external_id: str) -> uuid.UUID | None:
    return await views.find_by_reference(bench.engine, TENANT, source, external_id)


async def record(bench: Bench, customer_id: uuid.UUID | None) -> dict[str, Any]:
    [found] = await bench.rows(customer, customer_id=customer_id)
    return found


async def test_an_unknown_reference_makes_a_customer_and_its_activity_goes_on_keyed_by_it(
    bench_of,
):
    profile = await bench_of("profile")
    first = inbound("pos", "O-1", source="pos", external_id="C-1", email=LI, name="Li")
    second = inbound("pos", "O-2", source="pos", external_id="C-1")

    await profile.consume(GROUP, first, second)
    await profile.consume(GROUP, inbound("pos", "O-3", source="pos", external_id="C-1"))

    li = await lookup(profile, "pos", "C-1")
    assert li is not None
    assert (await record(profile, li))["email"] == LI
    [created] = await profile.payloads(CustomerCreated)
    assert (created.customer_id, created.source, created.external_id) == (str(li), "pos", "C-1")
    activity = await profile.published(PurchaseCompleted)
    assert [(a.data["order_id"], a.subject, a.partitionkey) for a in activity] == [
        ("O-1", str(li), str(li)),
        ("O-2", str(li), str(li)),
        ("O-3", str(li), str(li)),
    ]
    assert activity[0].causationid == str(first.id) and activity[0].partner == "pos"


async def test_a_partner_naming_anothers_email_gets_a_customer_of_its_own_and_a_candidate(
    bench_of,
):
    profile = await bench_of("profile")
    await profile.consume(GROUP, inbound("pos", "O-1", source="pos", external_id="C-1", email=LI))
    await profile.consume(
        GROUP, inbound("shop", "S-1", source="shop", external_id="S-1", email=LI, name="Mallory")
    )

    li, other = await lookup(profile, "pos", "C-1"), await lookup(profile, "shop", "S-1")
    assert li is not None and other is not None and li != other
    [found] = await profile.payloads(MergeCandidateFound)
    assert (found.survivor_id, found.merged_id, found.matched) == (str(li), str(other), ["email"])
    [candidate] = await profile.rows(merge_candidate, tenant_id=TENANT)
    assert (candidate["status"], candidate["survivor_id"]) == ("open", li)
    assert (await record(profile, li))["name"] is None  # the shop's name never lands on Li


async def test_contact_details_change_only_by_the_owning_source_and_identities_follow(bench_of):
    profile = await bench_of("profile")
    await profile.consume(
        GROUP, inbound("pos", "O-1", source="pos", external_id="C-1", email=LI, name="Li")
    )
    li = await lookup(profile, "pos", "C-1")

    await profile.consume(
        GROUP, inbound("pos", "O-2", source="pos", external_id="C-1", email="li@new.example.com")
    )
    await profile.consume(  # another source names the pos customer's reference: not its own
        GROUP, inbound("shop", "S-1", source="shop", external_id="C-1", name="Mallory")
    )

    assert (await record(profile, li))["email"] == "li@new.example.com"
    assert (await record(profile, li))["name"] == "Li"  # left out: kept
    held = await profile.rows(identity, customer_id=li, kind="email")
    assert [h["value"] for h in held] == ["li@new.example.com"]  # the old one released
    assert await lookup(profile, "shop", "C-1") != li


async def test_the_same_inbound_event_twice_makes_one_customer_and_one_activity(bench_of):
    profile = await bench_of("profile")
    posted = inbound("pos", "O-1", source="pos", external_id="C-1")

    await profile.consume(GROUP, posted, posted)
    await profile.consume(GROUP, posted)

    assert len(await profile.rows(customer, tenant_id=TENANT)) == 1
    assert len(await profile.published(PurchaseCompleted)) == 1
    assert len(await profile.published(CustomerCreated)) == 1


async def test_an_inbound_event_naming_no_customer_is_dead_lettered(bench_of):
    profile = await bench_of("profile")
    envelope = orjson.loads(encode(inbound("pos", "O-1", source="pos", external_id="C-1")))
    del envelope["data"]["customer"]
    nameless = orjson.dumps(envelope)

    await profile.consume(GROUP, nameless, inbound("pos", "O-2", source="pos", external_id="C-2"))

    [dead] = profile.dead_letters()
    assert dead.value == nameless and dead.header("crm-consumer") == GROUP
    assert "customer: Field required" in (dead.header("crm-error") or "")
    assert await lookup(profile, "pos", "C-2") is not None
    assert len(await profile.rows(customer, tenant_id=TENANT)) == 1
