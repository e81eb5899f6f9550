"""A delivery's sealed personal fields are opened for the receiver at delivery time;
an erased customer's (no key any more) go out empty, never sealed, never an error."""

from __future__ import annotations

import orjson

from services.gateway.webhooks.opening import opened
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
