"""Feedback announces its own free texts sealed under the customer's key (issue 12 item 3):
the desk's resolution and a token answer's comment never reach crm.feedback in the
clear; an erased customer's are left out; profile out of reach writes nothing; and
loyalty and lifecycle fold a sealed resolution as before (fast tier)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pydantic import SecretStr

from services.feedback import answers, resolutions
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import complaint
from services.lifecycle.tables import customer_state
from services.loyalty import views
from shared.events import CloudEvent, encode
from shared.events.feedback import (
    ComplaintOpened,
    ComplaintResolved,
    SurveyAnswered,
    SurveyInvited,
)
from shared.events.loyalty import PointsAdjusted
from shared.keyring import KeysUnavailable
from shared.sealing import open_payload
from tests.handlers.bench import NOW, TENANT, Bench, MemoryKeys
from tests.handlers.test_feedback import GROUP, RULES, _sweep, bought, filed
from tests.handlers.test_lifecycle import ACTIVITY as LIFECYCLE_ACTIVITY
from tests.handlers.test_lifecycle import SIGNALS
from tests.handlers.test_lifecycle import bought as lifecycle_bought
from tests.handlers.test_loyalty import FEEDBACK

TEXT = "Refunded to Li Wei, 13 Garden Rd"
COMMENT = "Call Li Wei back on 138 0000 0000"


def keys_of(bench: Bench) -> MemoryKeys:
    keys = bench.runtime.resources.keys
    assert isinstance(keys, MemoryKeys)
    return keys


async def _filed(feedback: Bench, customer: uuid.UUID) -> resolutions.ResolveAtDesk:
    await feedback.consume(GROUP, filed(customer, "T-1", "high", NOW, "tickets"))
    [row] = await feedback.rows(complaint, customer_id=customer)
    return resolutions.ResolveAtDesk(TENANT, customer, row["complaint_id"], TEXT, 300, "key-1")


async def _resolved(feedback: Bench, asked: resolutions.ResolveAtDesk) -> CloudEvent:
    await resolutions.resolve_at_desk(feedback.runtime.db, asked, RULES, keys_of(feedback))
    [announced] = await feedback.published(ComplaintResolved)
    return announced


async def test_the_desks_resolution_is_announced_sealed_under_the_customers_key(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    announced = await _resolved(feedback, await _filed(feedback, customer))

    payload = announced.payload()
    assert isinstance(payload, ComplaintResolved) and payload.sealed is not None
    assert (payload.resolution, payload.resolved_by, payload.compensation_points) == (
        None, "desk", 300,
    )  # fmt: skip
    assert TEXT.encode() not in encode(announced)
    [key] = (await keys_of(feedback).customer_keys(TENANT, [customer])).values()
    assert open_payload(payload, key).resolution == TEXT
    [row] = await feedback.rows(complaint, customer_id=customer)
    assert row["resolution"] == TEXT  # feedback's own table keeps it until its erasure


async def test_an_erased_customers_resolution_is_announced_without_its_text(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    asked = await _filed(feedback, customer)
    keys_of(feedback).erase(TENANT, customer)

    payload = (await _resolved(feedback, asked)).payload()

    assert isinstance(payload, ComplaintResolved)
    assert (payload.resolution, payload.sealed, payload.resolved_by) == (None, None, "desk")


async def test_profile_out_of_reach_resolves_nothing(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    asked = await _filed(feedback, customer)
    keys_of(feedback).away = True

    with pytest.raises(KeysUnavailable):
        await resolutions.resolve_at_desk(feedback.runtime.db, asked, RULES, keys_of(feedback))

    [row] = await feedback.rows(complaint, customer_id=customer)
    assert row["status"] == "open" and await feedback.published(ComplaintResolved) == []


async def test_a_token_answers_comment_is_announced_sealed_and_none_asks_no_key(bench_of):
    key = SecretStr("a survey token key of 32 characters or more")
    feedback = await bench_of("feedback", survey_token_key=key)
    ann, bo = uuid.uuid4(), uuid.uuid4()
    await feedback.consume(GROUP, bought(ann, "O-1", NOW), bought(bo, "O-2", NOW))
    feedback.clock.move_to(NOW + timedelta(hours=25))  # feedback.toml: CSAT after 24 h
    await _sweep(feedback)
    tokens = {i.order_id: i.answer_token or "" for i in await feedback.payloads(SurveyInvited)}
    keys = keys_of(feedback)
    keys.away = True
    with pytest.raises(KeysUnavailable):  # profile away: nothing written, the token still open
        await _answer(feedback, tokens["O-1"], COMMENT)
    assert await feedback.published(SurveyAnswered) == []
    keys.away = False

    await _answer(feedback, tokens["O-1"], COMMENT)
    keys.away = True  # an answer without a comment needs no key
    await _answer(feedback, tokens["O-2"], None)

    first, second = await feedback.published(SurveyAnswered)
    assert COMMENT.encode() not in encode(first)
    sealed_answer = first.payload()
    assert isinstance(sealed_answer, SurveyAnswered) and sealed_answer.comment is None
    keys.away = False
    [ann_key] = (await keys.customer_keys(TENANT, [ann])).values()
    assert open_payload(sealed_answer, ann_key).comment == COMMENT
    assert second.data.get("sealed") is None and second.data["comment"] is None


async def test_loyalty_and_lifecycle_fold_a_sealed_resolution_as_before(bench_of):
    feedback, customer = await bench_of("feedback"), uuid.uuid4()
    announced = await _resolved(feedback, await _filed(feedback, customer))
    [complained] = await feedback.published(ComplaintOpened)
    loyalty, lifecycle = await bench_of("loyalty"), await bench_of("lifecycle")

    await loyalty.consume(FEEDBACK, complained, announced)
    await lifecycle.consume(LIFECYCLE_ACTIVITY, lifecycle_bought(customer, "O-1", NOW))
    await lifecycle.consume(SIGNALS, complained)
    [upset] = await lifecycle.rows(customer_state, customer_id=customer)
    await lifecycle.consume(SIGNALS, announced)

    found = await views.loyalty_summary(loyalty.engine, TENANT, customer)
    assert found is not None
    refs = {p.ref: p.points for p in await loyalty.payloads(PointsAdjusted)}
    assert refs[f"compensation:{announced.data['complaint_id']}"] == 300
    [settled] = await lifecycle.rows(customer_state, customer_id=customer)
    assert (upset["open_complaints"], settled["open_complaints"]) == ({"high": 1}, {})
    assert loyalty.dead_letters() == [] and lifecycle.dead_letters() == []


async def _answer(feedback: Bench, token: str, comment: str | None) -> None:
    settings = feedback.runtime.settings
    assert isinstance(settings, FeedbackSettings) and settings.answer_secret is not None
    posted = answers.TokenAnswer(TENANT, token, 4, comment)
    await answers.answer_by_token(
        feedback.runtime.db, settings.answer_secret, posted, settings.config, keys_of(feedback)
    )
