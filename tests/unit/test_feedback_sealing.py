"""Feedback's own free texts (the desk's resolution, a token answer's comment) are personal
fields of their events, sealed under the customer's key; the key ring gives a batch's
customer keys in one call and remembers them a minute (fast tier)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from services.feedback.sealing import sealed
from shared.events import REGISTRY, encode, new_event
from shared.events.feedback import ComplaintResolved, SurveyAnswered
from shared.failures import Kind, classify
from shared.keyring import KEYS_OF_CUSTOMERS, KeyRing, KeysUnavailable
from shared.sealing import SubjectKey, new_secret, open_payload, open_with

KEY = SubjectKey(str(uuid.uuid4()), new_secret())
AT = datetime(2026, 11, 30, tzinfo=UTC)
LIVE, ERASED = uuid.uuid4(), uuid.uuid4()


def resolved(text: str | None) -> ComplaintResolved:
    return ComplaintResolved(
        complaint_id=str(uuid.uuid4()), complaint_ref="T-1", severity="low", opened_at=AT,
        resolved_at=AT, within_sla=True, compensation_points=300, open_complaints=0,
        resolved_by="desk", resolution=text, resolver="key-1",
    )  # fmt: skip


def answered(comment: str | None) -> SurveyAnswered:
    return SurveyAnswered(survey="nps", score=3, category="detractor", at=AT, comment=comment)


def test_the_desks_resolution_and_a_comment_travel_sealed_and_open_with_the_key() -> None:
    # Texts long enough that random ciphertext never holds them (it held "Li" once in CI).
    cases = ((resolved("Refunded Li Wei"), b"Li Wei"), (answered("Call Li Wei"), b"Li Wei"))
    for payload, text in cases:
        closed = sealed(payload, KEY)
        event = new_event(closed, source="/crm/feedback", tenant_id="t", key="c", time=AT)
        wire = encode(event)
        assert text not in wire and b'"sealed"' in wire
        parsed = REGISTRY.parse(event.type, orjson.loads(wire)["data"])
        assert open_payload(parsed, KEY) == payload  # type: ignore[type-var]
        assert open_with(parsed, {}).sealed is None  # type: ignore[type-var]


def test_without_the_customers_key_the_text_is_left_out_and_the_rest_kept() -> None:
    left = sealed(resolved("Refunded Li"), None)
    assert (left.resolution, left.sealed, left.compensation_points) == (None, None, 300)
    assert sealed(answered("Call Li"), None).comment is None
    assert sealed(answered(None), KEY).sealed is None  # nothing to seal


def test_consumers_fold_a_sealed_resolution_as_before() -> None:
    """Lifecycle and loyalty read the counts and points; the class only gains ``sealed``."""
    wire = encode(
        new_event(
            sealed(resolved("x"), KEY), source="/crm/feedback", tenant_id="t", key="c", time=AT
        )
    )
    data = orjson.loads(wire)["data"]
    parsed = REGISTRY.parse("crm.feedback.complaint_resolved.v1", data)
    assert isinstance(parsed, ComplaintResolved)
    assert (parsed.compensation_points, parsed.open_complaints, parsed.resolution) == (300, 0, None)


def test_the_catalogue_shows_feedbacks_sealed_texts() -> None:
    events = REGISTRY.catalogue()["events"]
    assert events["crm.feedback.complaint_resolved.v1"]["sealed_fields"] == ["resolution"]
    assert events["crm.feedback.survey_answered.v1"]["sealed_fields"] == ["comment"]


async def test_the_key_ring_gives_a_batchs_customer_keys_in_one_call_and_remembers() -> None:
    calls: list[list[str]] = []

    def profile(request: httpx.Request) -> httpx.Response:
        assert request.url.path == KEYS_OF_CUSTOMERS
        asked = orjson.loads(request.content)["customer_ids"]
        calls.append(asked)
        given = [
            {"source": "crm:record", "external_id": c, "kid": KEY.kid, "secret": _b64(KEY.secret)}
            for c in asked
            if c == str(LIVE)
        ]  # an erased customer has no key, and gets none made
        return httpx.Response(200, json={"keys": given})

    async with httpx.AsyncClient(transport=httpx.MockTransport(profile), base_url="http://p") as c:
        ring = KeyRing(c)
        assert await ring.customer_keys("t", [LIVE, ERASED, LIVE]) == {LIVE: KEY}
        assert await ring.customer_keys("t", [ERASED, LIVE]) == {LIVE: KEY}  # cached, both
        assert await ring.keys("t", [KEY.kid]) == {KEY.kid: KEY}  # it opens what it sealed
    assert len(calls) == 1 and sorted(calls[0]) == sorted([str(LIVE), str(ERASED)])


async def test_profile_away_gives_no_customer_key_and_says_so() -> None:
    def away(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    async with httpx.AsyncClient(transport=httpx.MockTransport(away), base_url="http://p") as c:
        with pytest.raises(KeysUnavailable) as raised:
            await KeyRing(c).customer_keys("t", [LIVE])
    assert classify(raised.value) is Kind.TRANSIENT


def _b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()
