"""Erasure on PostgreSQL and Kafka: a customer with orders, points, a complaint, a survey
answer and consent in every service is erased; every service confirms through Kafka, no
table of any service holds their name, e-mail, phone or free text afterwards, a rebuild
of the 360 from the topics shows nothing of them, and a second customer is untouched."""

from __future__ import annotations

import contextlib
import faulthandler
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select

from services import definition
from services.profile.rebuild import rebuild
from shared.bus.kafka import KafkaBus
from shared.db import create_engine
from shared.events import CloudEvent
from shared.events.activity import (
    ComplaintFiled,
    ConsentReported,
    CustomerRef,
    PurchaseCompleted,
    SurveyResponded,
)
from shared.events.payload import Payload
from shared.settings import ServiceSettings
from tests.integration.conftest import eventually, publish_events
from tests.integration.services import (
    Infra,
    RunningService,
    create_database,
    drop_database,
    posted,
    run_service,
)

SERVICES = ("profile", "lifecycle", "feedback", "loyalty")
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Four services start twice here (profile a third time after the rebuild), each
    joining its consumer groups: longer than the others' minute; its waits are bounded."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def person(tag: str) -> dict[str, str]:
    """A customer's details and free texts, each unique to this run, to be found again."""
    return {
        "name": f"Erasable {tag}",
        "email": f"{tag}@example.com",
        "phone": "+86138" + str(uuid.uuid4().int)[:8],
        "complaint": f"{tag} complaint: my parcel never came",
        "comment": f"{tag} comment: call me back",
        "proof": f"{tag} proof: ticked the box",
    }


def history(tenant: str, ref: str, who: dict[str, str]) -> list[CloudEvent]:
    """A purchase, a complaint, a survey answer and consent, as the gateway posts them."""
    customer = CustomerRef(
        source="pos", external_id=ref, email=who["email"], phone=who["phone"], name=who["name"]
    )
    activities: list[Payload] = [
        PurchaseCompleted(order_id=f"O-{ref}", amount_minor=50000, currency="EUR", channel="web"),
        ComplaintFiled(
            complaint_ref=f"T-{ref}", severity="low", category="delivery", channel="web",
            text=who["complaint"],
        ),
        SurveyResponded(survey="nps", score=9, comment=who["comment"]),
        ConsentReported(channel="email", purpose="surveys", granted=True, proof=who["proof"]),
    ]  # fmt: skip
    return posted(tenant, customer, activities, T0)


@contextlib.asynccontextmanager
async def stack(infra: Infra, tenant: str) -> AsyncIterator[dict[str, RunningService]]:
    async with contextlib.AsyncExitStack() as running:
        yield {
            name: await running.enter_async_context(run_service(infra, name, tenant=tenant))
            for name in SERVICES
        }


async def held_texts(infra: Infra, services: tuple[str, ...] = SERVICES) -> str:
    """Every row of every table of every service, as one text to search."""
    found: list[str] = []
    for name in services:
        metadata: MetaData = definition(name).outbox.metadata
        engine = create_engine(infra.database_url(name))
        try:
            async with engine.connect() as conn:
                for table in metadata.sorted_tables:
                    rows = await conn.execute(select(table))
                    found.extend(repr(tuple(r)) for r in rows)
        finally:
            await engine.dispose()
    return "\n".join(found)


async def customer_of(client: httpx.AsyncClient, ref: str) -> str:
    found: dict[str, Any] = {}

    async def known() -> bool:
        answer = await client.get(
            "/v1/customers/lookup", params={"source": "pos", "external_id": ref}
        )
        found.update(answer.json() if answer.status_code == 200 else {})
        return "customer_id" in found

    await eventually(known, within=60)
    return str(found["customer_id"])


async def settled(services: dict[str, RunningService], customer: str) -> None:
    """Every service has applied the customer's history."""

    async def applied() -> bool:
        reads = {
            "feedback": f"/v1/customers/{customer}/complaints",
            "loyalty": f"/v1/customers/{customer}/loyalty",
            "lifecycle": f"/v1/customers/{customer}/lifecycle",
        }
        for name, path in reads.items():
            if (await services[name].client.get(path)).status_code != 200:
                return False
        complaints = (await services["feedback"].client.get(reads["feedback"])).json()
        consent = await services["profile"].client.get(f"/v1/customers/{customer}/consent")
        answers = await services["feedback"].client.get(
            f"/v1/customers/{customer}/survey-responses"
        )
        return (
            bool(complaints["complaints"])
            and bool(consent.json()["history"])
            and bool(answers.json()["responses"])
        )

    await eventually(applied, within=60)


async def test_an_erased_customer_is_gone_from_every_service_and_the_rebuilt_360(
    infra: Infra, bus: KafkaBus
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    li, wang = person(f"li-{uuid.uuid4().hex[:8]}"), person(f"wang-{uuid.uuid4().hex[:8]}")
    for name in SERVICES:
        await create_database(infra, name)
    try:
        async with stack(infra, tenant) as services:
            profile = services["profile"].client
            await publish_events(bus, *history(tenant, "C-1", li), *history(tenant, "C-2", wang))
            li_id, wang_id = await customer_of(profile, "C-1"), await customer_of(profile, "C-2")
            await settled(services, li_id)
            await settled(services, wang_id)
            assert li["complaint"] in await held_texts(infra)

            unknown = await profile.delete(f"/v1/customers/{uuid.uuid4()}", params={"reason": "x"})
            answer = await profile.delete(f"/v1/customers/{li_id}", params={"reason": "art. 17"})
            assert (unknown.status_code, answer.status_code) == (404, 202), answer.text
            job = await _erased(profile, answer.json()["erasure_id"])
            await eventually(lambda: _nothing_of(infra, li), within=30)

        settings = ServiceSettings(
            service="profile",
            database_url=infra.database_url("profile"),
            topic_prefix=infra.prefix,
            kafka_bootstrap=infra.settings.kafka_servers,
        )
        await rebuild(settings)
        async with run_service(infra, "profile", tenant=tenant) as rebuilt:
            await eventually(lambda: _folded(rebuilt.client, wang_id), within=60)
            gone = await rebuilt.client.get(f"/v1/customers/{li_id}")
            kept = await rebuilt.client.get(f"/v1/customers/{wang_id}")
            held = await held_texts(infra)
    finally:
        for name in SERVICES:
            await drop_database(infra, name)

    assert [s["service"] for s in job["services"] if s["confirmed_at"]] == list(SERVICES)
    assert job["seconds"] is not None and job["seconds"] >= 0
    assert gone.status_code == 404
    assert not any(text in held for text in li.values())
    assert all(text in held for text in wang.values())
    assert (kept.json()["name"], kept.json()["stats"]["orders"]) == (wang["name"], 1)


async def _erased(client: httpx.AsyncClient, erasure_id: str) -> dict[str, Any]:
    job: dict[str, Any] = {}

    async def confirmed() -> bool:
        job.update((await client.get(f"/v1/privacy/erasures/{erasure_id}")).json())
        return job["status"] == "erased"

    try:
        await eventually(confirmed, within=60)
    except AssertionError as missed:
        raise AssertionError(f"not every service confirmed: {job}") from missed
    return job


async def _nothing_of(infra: Infra, who: dict[str, str]) -> bool:
    held = await held_texts(infra)
    return not any(text in held for text in who.values())


async def _folded(client: httpx.AsyncClient, customer: str) -> bool:
    answer = await client.get(f"/v1/customers/{customer}")
    return answer.status_code == 200 and answer.json()["stats"]["orders"] == 1
