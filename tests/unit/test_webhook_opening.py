"""A delivery's sealed personal fields are opened for the receiver at delivery time;
an erased customer's (no key any more) go out empty, never sealed, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from services.feedback.sealing import sealed
from services.gateway.webhooks.domain import body
from services.gateway.webhooks.opening import opened
from shared.events import new_event
from shared.events.feedback import ComplaintResolved
from shared.sealing import SubjectKey, new_secret, seal

KEY = SubjectKey("k-1", new_secret())


def delivery(data: dict[str, object]) -> bytes:
    return orjson.dumps({"id": "e-1", "type": "t", "tenant_id": "acme", "data": data})


def sealed_complaint() -> bytes:
    text = seal(KEY, {"text": "my parcel never came"}).model_dump()
    return delivery({"complaint_ref": "T-1", "text": "", "sealed": text})


async def test_the_receiver_gets_the_text_in_the_clear() -> None:
    asked: list[tuple[str, set[str]]] = []

    async def keys(tenant: str, kids: set[str]) -> dict[str, SubjectKey]:
        asked.append((tenant, kids))
        return {KEY.kid: KEY}

    body = orjson.loads(await opened(sealed_complaint(), keys))
    assert body["data"] == {"complaint_ref": "T-1", "text": "my parcel never came"}
    assert asked == [("acme", {"k-1"})]


async def test_an_erased_customers_fields_go_out_empty() -> None:
    async def keys(tenant: str, kids: set[str]) -> dict[str, SubjectKey]:
        return {}

    body = orjson.loads(await opened(sealed_complaint(), keys))
    assert body["data"] == {"complaint_ref": "T-1", "text": ""}


async def test_a_body_with_nothing_sealed_is_sent_as_kept_without_asking() -> None:
    async def keys(tenant: str, kids: set[str]) -> dict[str, SubjectKey]:
        raise AssertionError("no key is needed")

    kept = delivery({"to": "active"})
    assert await opened(kept, keys) is kept


async def test_feedbacks_sealed_resolution_reaches_the_receiver_in_the_clear() -> None:
    """crm.feedback's desk resolutions travel sealed under the customer's key
    (``services.feedback.sealing``); the receiver gets the text, the ``sealed`` gone."""
    at = datetime(2026, 11, 30, tzinfo=UTC)
    resolved = ComplaintResolved(
        complaint_id="c-1", complaint_ref="T-1", severity="low", opened_at=at, resolved_at=at,
        within_sla=True, compensation_points=0, open_complaints=0, resolved_by="desk",
        resolution="Refunded to Li Wei",
    )  # fmt: skip
    event = new_event(
        sealed(resolved, KEY), source="/crm/feedback", tenant_id="acme", key="c", time=at
    )
    kept = body(event)
    assert b"Li Wei" not in kept

    async def keys(tenant: str, kids: set[str]) -> dict[str, SubjectKey]:
        return {KEY.kid: KEY} if kids == {KEY.kid} else {}

    data = orjson.loads(await opened(kept, keys))["data"]
    assert (data["resolution"], "sealed" in data) == ("Refunded to Li Wei", False)
