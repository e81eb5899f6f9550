"""Crypto-shredding on PostgreSQL and Kafka, through the gateway: what partners post about
a person travels sealed on crm.inbound and crm.activity (the raw bytes on the topics hold
no e-mail, name, phone, consent proof, complaint or resolution text, nor an activity's
property), profile opens it and keeps the record (a segment on a property holds the
customer); after an erasure the subject's key is gone, so what the topics keep of them
opens to nothing, and a rebuild of the 360 and the segments from the topics holds nothing
of them, while a second customer's details (and segment) are intact."""

from __future__ import annotations

import contextlib
import faulthandler
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from services.feedback.app import definition as feedback_definition
from services.gateway.app import definition as gateway_definition
from services.profile import subject_keys
from services.profile.rebuild import rebuild
from services.profile.tables import segment_fact
from shared import topics
from shared.app import create_service_app
from shared.auth import new_api_key
from shared.db import create_engine
from shared.events import decode
from shared.events.activity import ComplaintFiled, ComplaintResolvedV2, Inbound, PurchaseCompleted
from shared.internal import InternalAuth
from shared.sealing import kids_of, open_with
from shared.settings import ServiceSettings
from tests.integration.conftest import eventually, read_topic
from tests.integration.receiver import receiving
from tests.integration.services import (
    INTERNAL_SECRET,
    Infra,
    RunningService,
    create_database,
    drop_database,
    run_service,
)
from tests.integration.test_erasure import held_texts

OPERATOR_KEY = new_api_key()
SERVICES = ("gateway", "profile", "feedback")


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Profile starts twice and rebuilds between: longer than the others' minute."""
    faulthandler.dump_traceback_later(420, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@contextlib.asynccontextmanager
async def gateway(infra: Infra, profile: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway, reaching this profile in-process (as in embedded mode)."""
    service = gateway_definition({"profile": httpx.ASGITransport(app=profile.app)})
    config = service.settings(
        service="gateway",
        database_url=infra.database_url("gateway"),
        topic_prefix=infra.prefix,
        kafka_bootstrap=infra.settings.kafka_servers,
        internal_secret=SecretStr(INTERNAL_SECRET),
        bootstrap_api_key=SecretStr(OPERATOR_KEY),
        webhook_allowed_hosts="127.0.0.1",  # the test's receiver
        webhook_poll_seconds=0.05,
        signing_master_key=SecretStr("w" * 40),
    )
    app = create_service_app(service, config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", auth=InternalAuth(INTERNAL_SECRET)
        ) as client:
            yield client


@contextlib.asynccontextmanager
async def feedback(
    infra: Infra, profile: RunningService, tenant: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Feedback, reaching this profile in-process for the keys of sealed texts."""
    service = feedback_definition(httpx.ASGITransport(app=profile.app))
    config = service.settings(
        service="feedback",
        database_url=infra.database_url("feedback"),
        topic_prefix=infra.prefix,
        kafka_bootstrap=infra.settings.kafka_servers,
        internal_secret=SecretStr(INTERNAL_SECRET),
    )
    app = create_service_app(service, config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://feedback",
            headers={"X-CRM-Tenant": tenant},
            auth=InternalAuth(INTERNAL_SECRET),
        ) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def stack(
    infra: Infra, tenant: str
) -> AsyncIterator[tuple[RunningService, httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        run_service(infra, "profile", tenant=tenant) as profile,
        gateway(infra, profile) as gw,
        feedback(infra, profile, tenant) as fb,
    ):
        yield profile, gw, fb


def person(tag: str) -> dict[str, str]:
    n = uuid.uuid4().int
    return {
        "name": f"Sealed {tag}",
        "email": f"{tag}@example.com",
        "phone": "+86139" + str(uuid.uuid4().int)[:8],
        "proof": f"{tag} proof: ticked the box",
        "complaint": f"{tag} complaint: my parcel never came",
        "comment": f"{tag} comment: call me back",
        "resolution": f"{tag} resolution: refunded in full",
        "gift": f"{tag} gift: for my mother",
        "birthday": f"{1900 + n % 99}-0{1 + n % 9}-2{n % 8}",
    }


def posts(ref: str, who: dict[str, str]) -> list[dict[str, Any]]:
    """Registration with contact details, consent with its proof, a purchase with its
    properties, a complaint and its resolution, and a survey answer with their texts."""
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    customer = {"source": "pos", "external_id": ref, "name": who["name"], "email": who["email"],
                "phone": who["phone"]}  # fmt: skip
    return [
        {"id": f"{ref}-r", "type": "customer.registered", "occurred_at": at,
         "customer": customer,
         "data": {"channel": "web", "attributes": {"birthday": who["birthday"]}}},
        {"id": f"{ref}-c", "type": "consent.changed", "occurred_at": at, "customer": customer,
         "data": {"channel": "email", "purpose": "marketing", "granted": True,
                  "proof": who["proof"]}},
        {"id": f"{ref}-p", "type": "purchase.completed", "occurred_at": at,
         "customer": {"source": "pos", "external_id": ref},
         "data": {"order_id": f"O-{ref}", "amount_minor": 1200, "currency": "CNY",
                  "channel": "web", "properties": {"gift": who["gift"], "wrapped": "yes"}}},
        {"id": f"{ref}-t", "type": "complaint.filed", "occurred_at": at,
         "customer": {"source": "pos", "external_id": ref},
         "data": {"complaint_ref": f"T-{ref}", "severity": "low", "category": "delivery",
                  "channel": "web", "text": who["complaint"]}},
        {"id": f"{ref}-x", "type": "complaint.resolved", "occurred_at": at,
         "customer": {"source": "pos", "external_id": ref},
         "data": {"complaint_ref": f"T-{ref}", "resolution": who["resolution"]}},
        {"id": f"{ref}-s", "type": "survey.responded", "occurred_at": at,
         "customer": {"source": "pos", "external_id": ref},
         "data": {"survey": "nps", "score": 9, "comment": who["comment"]}},
    ]  # fmt: skip


async def partner_key(gw: httpx.AsyncClient, tenant: str) -> str:
    body = {"name": "pos", "partner": "pos", "sources": ["pos"], "tenant_id": tenant,
            "scopes": ["events:write"]}  # fmt: skip
    answer = await gw.post(
        "/v1/admin/api-keys", json=body, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["api_key"])


async def customer_of(client: httpx.AsyncClient, ref: str) -> str:
    found: dict[str, Any] = {}

    async def known() -> bool:
        params = {"source": "pos", "external_id": ref}
        answer = await client.get("/v1/customers/lookup", params=params)
        found.update(answer.json() if answer.status_code == 200 else {})
        return "customer_id" in found

    await eventually(known, within=120)
    return str(found["customer_id"])


async def on_topics(infra: Infra, tenant: str) -> list[bytes]:
    """The raw bytes of the tenant's events on crm.inbound, crm.activity and crm.profile."""
    servers = infra.settings.kafka_servers
    found: list[bytes] = []
    for topic in (topics.INBOUND, topics.ACTIVITY, topics.PROFILE):
        records = await read_topic(servers, infra.prefix, topic)
        found += [r.value for r in records if r.value and tenant.encode() in r.value]
    return found


async def opened(infra: Infra, raw: list[bytes]) -> dict[str, set[str]]:
    """Every e-mail the tenant's inbound events, and every complaint text, resolution and
    purchase's gift property its activities, open to with profile's keys, by partner
    reference (the activity's key's)."""
    events = [decode(value) for value in raw]
    inbound = [p for e in events if isinstance(p := e.payload(), Inbound)]
    texts = (ComplaintFiled, ComplaintResolvedV2, PurchaseCompleted)
    filed = [p for e in events if isinstance(p := e.payload(), texts)]
    engine = create_engine(infra.database_url("profile"))
    try:
        async with engine.connect() as conn:
            kids = kids_of([*filed, *(p.customer for p in inbound)])
            keys = await subject_keys.by_kid(conn, kids)
    finally:
        await engine.dispose()
    found: dict[str, set[str]] = {}
    by_kid: dict[str, str] = {}
    for payload in inbound:
        customer = open_with(payload.customer, keys)
        found.setdefault(customer.external_id, set()).add(customer.email or "")
        if payload.customer.sealed:
            by_kid[payload.customer.sealed.kid] = customer.external_id
    for activity in filed:
        assert activity.sealed is not None, activity  # each has something personal
        ref, shown = by_kid[activity.sealed.kid], open_with(activity, keys)
        match shown:
            case ComplaintFiled(text=text) | ComplaintResolvedV2(resolution=text):
                found[ref].add(text)
            case PurchaseCompleted(properties=properties):
                found[ref].add(str(properties.get("gift", "")))
    return found


async def test_personal_fields_travel_sealed_and_erasure_shreds_them(infra: Infra) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    li, wang = person(f"li-{uuid.uuid4().hex[:8]}"), person(f"wang-{uuid.uuid4().hex[:8]}")
    for name in SERVICES:
        await create_database(infra, name)
    try:
        async with stack(infra, tenant) as (profile, gw, fb):
            declared = {"attributes": {"birthday": {"type": "date", "personal_data": True}}}
            schema = await profile.client.put("/v1/profile/attributes", json=declared)
            assert schema.status_code == 200, schema.text
            segment = (await profile.client.post("/v1/segments", json=WRAPPED)).json()["segment_id"]
            key = {"Authorization": f"Bearer {await partner_key(gw, tenant)}"}
            batch = {"events": [*posts("C-1", li), *posts("C-2", wang)]}
            posted = await gw.post("/v1/events/batch", json=batch, headers=key)
            assert posted.status_code == 202, posted.text
            assert {i["status"] for i in posted.json()["results"]} == {"accepted"}
            li_id = await customer_of(profile.client, "C-1")
            wang_id = await customer_of(profile.client, "C-2")
            record = (await profile.client.get(f"/v1/customers/{li_id}")).json()
            raw = await on_topics(infra, tenant)
            before = await opened(infra, raw)
            texts = await complaint_texts(fb, li_id)
            resolved = await resolutions(fb, li_id)
            await eventually(
                lambda: _members_are(profile.client, segment, {li_id, wang_id}), within=60
            )

            answer = await profile.client.delete(
                f"/v1/customers/{li_id}", params={"reason": "art. 17"}
            )
            assert answer.status_code == 202, answer.text
            after = await opened(infra, await on_topics(infra, tenant))

        settings = ServiceSettings(
            service="profile",
            database_url=infra.database_url("profile"),
            topic_prefix=infra.prefix,
            kafka_bootstrap=infra.settings.kafka_servers,
        )
        await rebuild(settings)
        async with run_service(infra, "profile", tenant=tenant) as rebuilt:
            await eventually(lambda: _folded(rebuilt.client, wang_id), within=120)
            # The attributes come on crm.profile, a topic of their own: wait for them too.
            await eventually(lambda: _has_attributes(infra, tenant, wang_id), within=60)
            await eventually(lambda: _members_are(rebuilt.client, segment, {wang_id}), within=60)
            gone = await rebuilt.client.get(f"/v1/customers/{li_id}")
            kept = (await rebuilt.client.get(f"/v1/customers/{wang_id}")).json()
            held = await held_texts(infra, ("profile",))
            facts = await segment_facts(infra, tenant)
    finally:
        for name in SERVICES:
            await drop_database(infra, name)

    # Profile opened what the gateway sealed: the record holds the details.
    assert (record["name"], record["email"]) == (li["name"], li["email"])
    assert record["attributes"] == {"birthday": li["birthday"]}
    # The topics never held them in the clear, and both events of each customer are there.
    assert sum(b'"crm.activity.' in value for value in raw) == 12
    assert sum(b'"crm.activity.complaint_resolved.v2"' in value for value in raw) == 2
    for value in raw:
        for secret in (*li.values(), *wang.values()):
            assert secret.encode() not in value, orjson.loads(value)["type"]
    sealed = ("email", "complaint", "resolution", "gift")
    assert before == {
        "C-1": {"", *(li[n] for n in sealed)},
        "C-2": {"", *(wang[n] for n in sealed)},
    }
    # Feedback opened the complaint's text and its resolution with the key profile gave it.
    assert (texts, resolved) == ([li["complaint"]], [li["resolution"]])
    # After the erasure li's events open to nothing, wang's as before.
    assert after == {"C-1": {""}, "C-2": {"", *(wang[n] for n in sealed)}}
    assert gone.status_code == 404
    # The segments folded wang's birthday from crm.profile again, and nothing of li's.
    assert facts == {wang_id: {"birthday": wang["birthday"]}, li_id: {}}
    assert not any(text in held for text in li.values())
    assert (kept["name"], kept["email"], kept["stats"]["orders"]) == (
        wang["name"],
        wang["email"],
        1,
    )


async def complaint_texts(fb: httpx.AsyncClient, customer: str) -> list[str]:
    """The texts of the customer's complaints, once feedback holds one."""
    found: list[str] = []

    async def filed() -> bool:
        answer = await fb.get(f"/v1/customers/{customer}/complaints")
        complaints = answer.json().get("complaints", []) if answer.status_code == 200 else []
        found[:] = [
            (await fb.get(f"/v1/customers/{customer}/complaints/{c['complaint_id']}")).json()[
                "text"
            ]
            for c in complaints
        ]
        return bool(found)

    await eventually(filed, within=120)
    return found


# A segment on a property of the purchases (sealed on the topics, opened by profile).
WRAPPED = {
    "name": "Wrapped gifts",
    "rule": {
        "activity": "purchase_completed",
        "within_days": 30,
        "where": [{"property": "wrapped", "op": "eq", "value": "yes"}],
    },
}


async def _members_are(client: httpx.AsyncClient, segment: str, wanted: set[str]) -> bool:
    answer = await client.get(f"/v1/segments/{segment}/members")
    return {m["customer_id"] for m in answer.json().get("members", [])} == wanted


async def resolutions(fb: httpx.AsyncClient, customer: str) -> list[str]:
    """The resolutions of the customer's complaints, once feedback resolved them all."""
    found: list[str] = []

    async def resolved() -> bool:
        answer = await fb.get(f"/v1/customers/{customer}/complaints")
        complaints = answer.json().get("complaints", []) if answer.status_code == 200 else []
        details = [
            (await fb.get(f"/v1/customers/{customer}/complaints/{c['complaint_id']}")).json()
            for c in complaints
        ]
        found[:] = [d.get("resolution") or "" for d in details]
        return bool(details) and all(d["status"] == "resolved" for d in details)

    await eventually(resolved, within=120)
    return found


async def segment_facts(infra: Infra, tenant: str) -> dict[str, Any]:
    """The attributes the segments folded, by customer."""
    engine = create_engine(infra.database_url("profile"))
    try:
        async with engine.connect() as conn:
            f = segment_fact.c
            rows = await conn.execute(
                select(f.customer_id, f.attributes).where(f.tenant_id == tenant)
            )
            return {str(r.customer_id): r.attributes for r in rows}
    finally:
        await engine.dispose()


async def _has_attributes(infra: Infra, tenant: str, customer: str) -> bool:
    return bool((await segment_facts(infra, tenant)).get(customer))


async def _folded(client: httpx.AsyncClient, customer: str) -> bool:
    answer = await client.get(f"/v1/customers/{customer}")
    return answer.status_code == 200 and answer.json()["stats"]["orders"] == 1


async def test_a_webhook_receiver_gets_the_personal_fields_in_the_clear(infra: Infra) -> None:
    """The topics keep a complaint's text sealed, and so does the delivery row; the
    receiver has no key, so the sender opens it just before it signs and posts."""
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    who = person(f"hook-{uuid.uuid4().hex[:8]}")
    for name in SERVICES:
        await create_database(infra, name)
    try:
        async with (
            run_service(infra, "profile", tenant=tenant) as profile,
            gateway(infra, profile) as gw,
            receiving() as receiver,
        ):
            operator = {"Authorization": f"Bearer {OPERATOR_KEY}"}
            body = {"name": "ops", "partner": "ops", "scopes": ["admin"], "tenant_id": tenant}
            admin = (await gw.post("/v1/admin/api-keys", json=body, headers=operator)).json()
            hook = {"url": receiver.url, "event_types": ["crm.activity.complaint_filed.v1"]}
            created = await gw.post(
                "/v1/webhooks", json=hook, headers={"Authorization": f"Bearer {admin['api_key']}"}
            )
            assert created.status_code == 201, created.text
            key = {"Authorization": f"Bearer {await partner_key(gw, tenant)}"}
            posted = await gw.post(
                "/v1/events/batch", json={"events": posts("C-9", who)}, headers=key
            )
            assert posted.status_code == 202, posted.text

            [got] = await receiver.wait_for(1, within=120)
            delivered = Webhook(created.json()["secret"]).verify(got.body, got.headers)
            assert delivered["data"]["text"] == who["complaint"]
            assert "sealed" not in delivered["data"]
            raw = await on_topics(infra, tenant)
            assert raw and not any(who["complaint"].encode() in value for value in raw)
    finally:
        for name in SERVICES:
            await drop_database(infra, name)
