"""Feedback's own free texts on crm.feedback, sealed under the customer's key, on
PostgreSQL and Kafka (issue 12 item 3): the desk resolves two customers' complaints with
a text and each answers a survey with its token and a comment; the raw bytes on
crm.feedback hold none of the texts. One customer is erased; a rebuild of feedback from
its topics restores the other's resolution and comment (opened with profile's keys) and
yields neither of the erased one's (``test_customer_keys``: profile's side)."""

from __future__ import annotations

import faulthandler
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from services.feedback import app as feedback_app
from services.feedback.rebuild import FOLDED, due
from services.feedback.settings import FeedbackSettings
from services.profile import subject_keys
from services.rebuilding import rebuild
from shared.bus.kafka import KafkaBus
from shared.clock import FrozenClock
from shared.db import create_engine
from shared.events import CloudEvent, decode
from shared.events.activity import ComplaintFiled, CustomerRef, PurchaseCompleted
from shared.events.feedback import ComplaintResolved, SurveyAnswered
from shared.events.payload import Payload
from shared.keyring import KEYS_OF_CUSTOMERS
from shared.sealing import kids_of, open_with
from shared.settings import ServiceSettings
from shared.topics import FEEDBACK
from tests.integration.conftest import eventually, publish_events, read_topic
from tests.integration.services import (
    INTERNAL_SECRET,
    Infra,
    RunningService,
    feedback_reaching,
    own_infra,
    posted,
    run_service,
)
from tests.integration.test_erasure import held_texts

ROOT = Path(__file__).resolve().parents[2]
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
SERVICES = ("profile", "feedback")


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Profile and feedback start, feedback is rebuilt: longer than the others' minute."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
async def isolated(settings: ServiceSettings) -> AsyncIterator[Infra]:
    async with own_infra(settings, "sf", SERVICES) as infra:
        yield infra


def texts(tag: str) -> dict[str, str]:
    return {
        "resolution": f"{tag} resolution: refunded to 13 Garden Rd",
        "comment": f"{tag} comment: call me back on 138",
    }


def inbound(tenant: str, ref: str) -> list[CloudEvent]:
    """A purchase and a complaint (no text: feedback's own texts are this test's)."""
    activities: list[Payload] = [
        PurchaseCompleted(order_id=f"O-{ref}", amount_minor=5000, currency="EUR", channel="web"),
        ComplaintFiled(complaint_ref=f"T-{ref}", severity="low", category="delivery",
                       channel="web"),
    ]  # fmt: skip
    return posted(tenant, CustomerRef(source="pos", external_id=ref), activities, T0)


async def customer_of(profile: RunningService, ref: str) -> str:
    found: dict[str, Any] = {}

    async def known() -> bool:
        params = {"source": "pos", "external_id": ref}
        answer = await profile.client.get("/v1/customers/lookup", params=params)
        found.update(answer.json() if answer.status_code == 200 else {})
        return "customer_id" in found

    await eventually(known, within=120)
    return str(found["customer_id"])


async def resolve(feedback: RunningService, customer: str, said: dict[str, str]) -> None:
    """The desk resolves the customer's complaint with a text."""
    complaints: list[dict[str, Any]] = []

    async def filed() -> bool:
        found = await feedback.client.get(f"/v1/customers/{customer}/complaints")
        complaints[:] = found.json().get("complaints", []) if found.status_code == 200 else []
        return bool(complaints)

    await eventually(filed, within=120)
    resolved = await feedback.client.post(
        f"/v1/customers/{customer}/complaints/{complaints[0]['complaint_id']}/resolution",
        json={"resolution": said["resolution"], "compensation_points": 0},
    )
    assert resolved.status_code == 200, resolved.text


async def answer(feedback: RunningService, customer: str, said: dict[str, str]) -> None:
    """The customer answers the CSAT its purchase earned (due 24 h after it, at the
    clock's time; sent once no complaint of theirs is open) with its token and a comment."""
    invitations: list[dict[str, Any]] = []

    async def invited() -> bool:
        swept = await feedback.client.post("/v1/feedback/sweep")
        assert swept.status_code == 200, swept.text
        page = await feedback.client.get(f"/v1/customers/{customer}/survey-invitations")
        sent = page.json().get("invitations", []) if page.status_code == 200 else []
        invitations[:] = [i for i in sent if i.get("answer_token")]
        return bool(invitations)

    await eventually(invited, within=60)
    token = invitations[0]["answer_token"]
    body = {"answer_token": token, "score": 4, "comment": said["comment"]}
    posted = await feedback.client.post("/v1/survey-responses", json=body)
    assert posted.status_code == 201, posted.text


async def own_events(infra: Infra, tenant: str) -> list[bytes]:
    """The raw bytes of the tenant's resolutions and answers on crm.feedback."""
    found: list[bytes] = []

    async def announced() -> bool:
        records = await read_topic(infra.settings.kafka_servers, infra.prefix, FEEDBACK)
        found[:] = [
            r.value
            for r in records
            if r.value and tenant.encode() in r.value
            and (b".complaint_resolved." in r.value or b".survey_answered." in r.value)
        ]  # fmt: skip
        return len(found) == 4

    await eventually(announced, within=60)
    return found


async def opened_texts(infra: Infra, raw: list[bytes]) -> set[str]:
    """What the sealed texts open to with the keys profile holds now."""
    payloads = [decode(value).payload() for value in raw]
    sealed = [p for p in payloads if isinstance(p, ComplaintResolved | SurveyAnswered)]
    engine = create_engine(infra.database_url("profile"))
    try:
        async with engine.connect() as conn:
            keys = await subject_keys.by_kid(conn, kids_of(sealed))
    finally:
        await engine.dispose()
    found: set[str] = set()
    for payload in sealed:
        opened = open_with(payload, keys)
        text = opened.resolution if isinstance(opened, ComplaintResolved) else opened.comment
        found.add(text or "")
    return found


async def test_feedbacks_texts_travel_sealed_and_a_rebuild_restores_only_the_living(
    isolated: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    li, wang = texts(f"li-{uuid.uuid4().hex[:8]}"), texts(f"wang-{uuid.uuid4().hex[:8]}")
    clock = FrozenClock(T0 + timedelta(hours=1))  # the desk resolves before the CSAT
    async with run_service(isolated, "profile", tenant=tenant) as profile:
        bus = KafkaBus(isolated.settings.kafka_servers, "it-sf", topic_prefix=isolated.prefix)
        await bus.start()
        try:
            await publish_events(bus, *inbound(tenant, "C-1"), *inbound(tenant, "C-2"))
        finally:
            await bus.stop()
        li_id, wang_id = await customer_of(profile, "C-1"), await customer_of(profile, "C-2")
        service = feedback_reaching(profile)
        async with run_service(
            isolated, "feedback", tenant=tenant, clock=clock, service=service,
            feedback_sweep_seconds=3600,
        ) as feedback:  # fmt: skip
            for customer, said in ((li_id, li), (wang_id, wang)):
                await resolve(feedback, customer, said)
            clock.move_to(T0 + timedelta(hours=25))  # the CSATs are due (as in the rebuild)
            for customer, said in ((li_id, li), (wang_id, wang)):
                await answer(feedback, customer, said)
            raw = await own_events(isolated, tenant)
            before = await opened_texts(isolated, raw)
            erased = await profile.client.delete(
                f"/v1/customers/{li_id}", params={"reason": "art. 17"}
            )
            assert erased.status_code == 202, erased.text
            after = await opened_texts(isolated, raw)
            keys = await customer_keys(profile, [li_id, wang_id, str(uuid.uuid4())])

        monkeypatch.setattr(feedback_app, "SERVICE", service)  # the rebuild reaches profile
        settings = FeedbackSettings(
            service="feedback",
            database_url=isolated.database_url("feedback"),
            topic_prefix=isolated.prefix,
            kafka_bootstrap=isolated.settings.kafka_servers,
            internal_secret=SecretStr(INTERNAL_SECRET),
        )
        await feedback_app_rebuild(settings)
        held = await held_texts(isolated, ("feedback",))

    # The topic never held the texts in the clear; they opened with the keys until erasure.
    for value in raw:
        assert b'"sealed"' in value
        for text in (*li.values(), *wang.values()):
            assert text.encode() not in value
    assert before == {*li.values(), *wang.values()}
    assert after == {"", *wang.values()}
    # Profile gives no key for an erased or unknown customer, and never makes one.
    assert set(keys) == {wang_id}
    # The rebuild folded wang's resolution and comment again, and nothing of li's.
    assert all(text in held for text in wang.values())
    assert not any(text in held for text in li.values())


async def feedback_app_rebuild(settings: FeedbackSettings) -> None:
    await rebuild("feedback", FOLDED, feedback_app.sweep, lambda _: None, settings, due)


async def customer_keys(profile: RunningService, customers: list[str]) -> dict[str, str]:
    answer = await profile.client.post(KEYS_OF_CUSTOMERS, json={"customer_ids": customers})
    assert answer.status_code == 200, answer.text
    return {k["external_id"]: k["kid"] for k in answer.json()["keys"]}
