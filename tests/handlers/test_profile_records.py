"""Profile's inbound consumer on the fast tier, for what partner events say of a record
besides who the customer is: declared attributes (kept, typed, published as
``crm.profile.customer_updated.v1``; undeclared or mistyped ones dropped) and consent
(every decision kept, the latest by its time applied and published)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.profile import record_store
from services.profile.attributes import Definition
from services.profile.guardrails import Guardrails
from services.profile.tables import consent, consent_change, customer, identity, merge_candidate
from shared.events import CloudEvent, new_event
from shared.events.activity import (
    ConsentReported,
    CustomerRef,
    CustomerRegistered,
    CustomerUpdated,
    EngagementRecorded,
    inbound_model,
)
from shared.events.payload import Payload
from shared.events.profile import ConsentChanged, CustomerRecordUpdated
from tests.handlers.bench import LI, NOW, TENANT, Bench

GROUP = "profile-inbound"
SCHEMA = [
    Definition("plan", "string"),
    Definition("birthday", "date", personal_data=True),
    Definition("interests", "list"),
]


def partner_event(activity: Payload, event_id: str, at: Any = NOW, **ref: str) -> CloudEvent:
    reference = CustomerRef.model_validate({"source": "pos", "external_id": "C-1", **ref})
    payload = inbound_model(type(activity))(
        partner="pos", partner_event_id=event_id, customer=reference, activity=activity
    )
    return new_event(
        payload, source="/partners/pos", tenant_id=TENANT, key="pos:C-1", time=at, partner="pos"
    )


async def declare(bench: Bench) -> None:
    async with bench.runtime.db.unit_of_work() as uow:
        await record_store.replace_schema(uow.conn, TENANT, SCHEMA, NOW)
        await uow.commit()


async def test_declared_attributes_are_kept_typed_and_published_and_the_rest_dropped(bench_of):
    profile = await bench_of("profile")
    await declare(profile)
    registered = CustomerRegistered(
        channel="web", attributes={"plan": "gold", "birthday": "1990-02-30", "shoe": 42}
    )
    updated = CustomerUpdated(
        attributes={"plan": None, "interests": ["tea"], "birthday": "1990-02-28"}
    )

    await profile.consume(GROUP, partner_event(registered, "E-1"))
    await profile.consume(GROUP, partner_event(updated, "E-2"))

    [record] = await profile.rows(customer, tenant_id=TENANT)
    assert record["attributes"] == {"interests": ["tea"], "birthday": "1990-02-28"}
    assert record["version"] == 2
    first, second = await profile.payloads(CustomerRecordUpdated)
    assert (first.version, first.attributes, first.changed) == (1, {"plan": "gold"}, ["plan"])
    assert second.version == 2 and second.changed == ["birthday", "interests", "plan"]
    assert second.personal_data == ["birthday"] and second.source == "pos"


async def test_the_latest_consent_by_its_time_wins_and_every_decision_is_kept(bench_of):
    profile = await bench_of("profile")
    withdrawn = ConsentReported(channel="email", purpose="marketing", granted=False)
    late_grant = ConsentReported(
        channel="email", purpose="marketing", granted=True, proof="form v1"
    )

    await profile.consume(GROUP, partner_event(withdrawn, "E-1", at=NOW))
    await profile.consume(GROUP, partner_event(late_grant, "E-2", at=NOW - timedelta(days=7)))

    [state] = await profile.rows(consent, tenant_id=TENANT)
    assert (state["granted"], state["at"], state["source"]) == (False, NOW, "pos")
    history = await profile.rows(consent_change, tenant_id=TENANT)
    assert sorted((h["granted"], h["applied"], h["proof"]) for h in history) == [
        (False, True, None),
        (True, False, "form v1"),
    ]
    [published] = await profile.payloads(ConsentChanged)
    assert (published.channel, published.purpose, published.granted) == (
        "email",
        "marketing",
        False,
    )


async def guardrails(bench: Bench, rails: Guardrails) -> None:
    async with bench.runtime.db.unit_of_work() as uow:
        await record_store.put_guardrails(uow.conn, TENANT, rails, NOW)
        await uow.commit()


def purchase_by(source: str, external_id: str, event_id: str, **contact: str) -> CloudEvent:
    activity = EngagementRecorded(kind="visit", channel="web")
    return partner_event(activity, event_id, source=source, external_id=external_id, **contact)


async def test_a_blocked_email_is_neither_kept_nor_matched(bench_of):
    profile = await bench_of("profile")
    await profile.consume(GROUP, purchase_by("pos", "C-1", "E-1", email="noreply@shop.example"))
    await profile.consume(GROUP, purchase_by("web", "W-1", "E-2", email="NoReply@shop.example"))

    records = await profile.rows(customer, tenant_id=TENANT)
    assert [r["email"] for r in records] == [None, None]
    assert await profile.rows(merge_candidate, tenant_id=TENANT) == []
    assert await profile.rows(identity, tenant_id=TENANT, kind="email") == []


async def test_a_tenant_that_links_on_a_match_joins_the_one_holder_up_to_its_limit(bench_of):
    profile = await bench_of("profile")
    await guardrails(profile, Guardrails((), (), max_identities=2, on_match="link"))
    await profile.consume(GROUP, purchase_by("pos", "C-1", "E-1", email=LI))
    await profile.consume(GROUP, purchase_by("web", "W-1", "E-2", email=LI))
    await profile.consume(GROUP, purchase_by("app", "A-1", "E-3", email=LI))

    holders = {
        r["kind"]: r["customer_id"]
        for r in await profile.rows(identity, tenant_id=TENANT)
        if r["kind"].startswith("ref:")
    }
    assert holders["ref:web"] == holders["ref:pos"]  # linked, not proposed
    assert holders["ref:app"] != holders["ref:pos"]  # the holder had its two references
    [candidate] = await profile.rows(merge_candidate, tenant_id=TENANT)
    assert candidate["merged_id"] == holders["ref:app"]
