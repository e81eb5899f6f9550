"""Erasure on the fast tier: profile forgets the person and announces the erasure; each
other service's ``<service>-erasure`` group erases its rows about the customer and
confirms, the 360's consumer folds the confirmations into the job, and another
customer keeps everything."""

from __future__ import annotations

import uuid

import pytest

from services.feedback.tables import complaint, survey_response
from services.lifecycle.tables import customer_state, stage_history
from services.loyalty.tables import ledger_entry
from services.profile import privacy, views
from services.profile.tables import customer, identity
from shared.events import CloudEvent
from shared.events.activity import ComplaintFiled, PurchaseCompleted, SurveyResponded
from shared.events.privacy import (
    CustomerErased,
    ErasureConfirmed,
    FeedbackErasureConfirmed,
    LifecycleErasureConfirmed,
    LoyaltyErasureConfirmed,
)
from tests.handlers.bench import LI, NOW, TENANT, Bench, event, inbound

LI_WEI, WANG = uuid.uuid4(), uuid.uuid4()


def erased(customer_id: uuid.UUID) -> CloudEvent:
    erasure = CustomerErased(
        erasure_id=str(uuid.uuid4()), customer_id=str(customer_id), reason="art. 17",
        requested_at=NOW,
    )  # fmt: skip
    return event(erasure, customer_id, source="/crm/profile")


def purchase(customer_id: uuid.UUID, order: str) -> CloudEvent:
    bought = PurchaseCompleted(order_id=order, amount_minor=900, currency="EUR", channel="web")
    return event(bought, customer_id)


async def test_profile_erases_the_person_and_folds_each_confirmation(bench_of):
    profile = await bench_of("profile")
    posted = [
        inbound("pos", "O-1", source="pos", external_id="C-1", email=LI, name="Li Wei"),
        inbound("pos", "O-2", source="pos", external_id="C-2", email="wang@example.com"),
    ]
    await profile.consume("profile-inbound", *posted)
    li = await views.find_by_reference(profile.engine, TENANT, "pos", "C-1")
    wang = await views.find_by_reference(profile.engine, TENANT, "pos", "C-2")
    assert li and wang

    job = await privacy.erase(profile.runtime.db, TENANT, li, "art. 17", "api-key:x")

    assert (
        await profile.rows(customer, customer_id=li),
        await profile.rows(identity, customer_id=li),
    ) == ([], [])
    assert await views.customer_360(profile.engine, TENANT, li) is None
    assert (await views.customer_360(profile.engine, TENANT, wang)) is not None
    assert len(await profile.rows(identity, customer_id=wang)) == 2
    [announced] = await profile.payloads(CustomerErased)
    assert (announced.customer_id, announced.erasure_id) == (str(li), str(job.erasure_id))
    assert job.status == "erasing"
    kinds = ((LifecycleErasureConfirmed, "lifecycle"), (FeedbackErasureConfirmed, "feedback"))
    confirmations = [
        kind(erasure_id=str(job.erasure_id), customer_id=str(li), service=name, erased_at=NOW)
        for kind, name in kinds
    ]
    await profile.consume("profile-view", *(event(c, li) for c in confirmations))
    waiting = await privacy.job(profile.engine, TENANT, job.erasure_id)
    assert waiting and waiting.status == "erasing"
    last = LoyaltyErasureConfirmed(
        erasure_id=str(job.erasure_id), customer_id=str(li), service="loyalty", erased_at=NOW
    )
    await profile.consume("profile-view", event(last, li))
    done = await privacy.job(profile.engine, TENANT, job.erasure_id)
    assert done and done.status == "erased" and done.seconds is not None
    assert all(s.confirmed_at for s in done.services)


async def test_erasing_an_unknown_customer_is_refused(bench_of):
    profile = await bench_of("profile")
    with pytest.raises(privacy.CustomerNotFound):
        await privacy.erase(profile.runtime.db, TENANT, uuid.uuid4(), "art. 17", None)


async def confirmed(bench: Bench, kind: type[ErasureConfirmed]) -> ErasureConfirmed:
    [confirmation] = await bench.payloads(kind)
    return confirmation


async def test_feedback_blanks_the_customers_texts_and_confirms(bench_of):
    feedback = await bench_of("feedback")
    for who in (LI_WEI, WANG):
        filed = ComplaintFiled(
            complaint_ref=f"T-{who}", severity="low", category="delivery", channel="web",
            text="Li Wei, 12 Long Road: my parcel never came",
        )  # fmt: skip
        answered = SurveyResponded(survey="nps", score=9, comment="call me on +8613800000000")
        await feedback.consume("feedback-activity", event(filed, who), event(answered, who))

    await feedback.consume("feedback-erasure", erased(LI_WEI))

    [theirs] = await feedback.rows(complaint, customer_id=LI_WEI)
    [answer] = await feedback.rows(survey_response, customer_id=LI_WEI)
    assert (theirs["text"], answer["comment"], answer["score"]) == ("", None, 9)
    [kept] = await feedback.rows(complaint, customer_id=WANG)
    assert kept["text"].startswith("Li Wei")
    confirmation = await confirmed(feedback, FeedbackErasureConfirmed)
    assert (confirmation.service, confirmation.removed["complaint"]) == ("feedback", 1)


async def test_lifecycle_forgets_the_customers_stage_and_confirms(bench_of):
    lifecycle = await bench_of("lifecycle")
    await lifecycle.consume("lifecycle-activity", purchase(LI_WEI, "O-1"), purchase(WANG, "O-2"))

    await lifecycle.consume("lifecycle-erasure", erased(LI_WEI))

    assert await lifecycle.rows(customer_state, customer_id=LI_WEI) == []
    assert await lifecycle.rows(stage_history, customer_id=LI_WEI) == []
    assert len(await lifecycle.rows(customer_state, customer_id=WANG)) == 1
    assert (await confirmed(lifecycle, LifecycleErasureConfirmed)).service == "lifecycle"


async def test_loyalty_keeps_the_ledger_and_confirms(bench_of):
    loyalty = await bench_of("loyalty")
    await loyalty.consume("loyalty-activity", purchase(LI_WEI, "O-1"))

    await loyalty.consume("loyalty-erasure", erased(LI_WEI))

    assert await loyalty.rows(ledger_entry, customer_id=LI_WEI)
    assert (await confirmed(loyalty, LoyaltyErasureConfirmed)).service == "loyalty"


async def test_each_service_confirms_under_an_id_of_its_own(bench_of):
    """Profile's inbox keeps one event per id: confirmations of one erasure by several
    services sharing an id would be dropped as repeats, and the job never completes."""
    erasure = erased(LI_WEI)
    ids = set()
    for name, kind in (
        ("lifecycle", LifecycleErasureConfirmed),
        ("loyalty", LoyaltyErasureConfirmed),
    ):
        bench = await bench_of(name)
        await bench.consume(f"{name}-erasure", erasure)
        ids.update(e.id for e in await bench.published(kind))
    assert len(ids) == 2
