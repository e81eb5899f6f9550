"""The sealed envelope of personal fields, and the cache of subject keys (fast tier)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from services.gateway.event_schema import EVENT_BODY
from services.gateway.ingestion import InvalidEvent, Sender, to_inbound
from services.gateway.sealing import seal_events
from services.gateway.upstream import Upstreams
from shared.events import REGISTRY, encode, new_event
from shared.events.activity import (
    ComplaintResolved,
    ComplaintResolvedV2,
    ConsentReported,
    CustomerRef,
    CustomerRegistered,
    PurchaseCompleted,
    inbound_model,
)
from shared.events.payload import DecodeError
from shared.failures import Kind, classify
from shared.keyring import KeyRing, KeysUnavailable
from shared.sealing import (
    KeyCache,
    Sealed,
    SubjectKey,
    kids_of,
    new_secret,
    open_payload,
    seal,
    seal_payload,
    unseal,
)

KEY = SubjectKey("k-1", new_secret())
REF = CustomerRef(
    source="pos", external_id="C-1", email="li.wei@example.com", phone="+8613800000000", name="Li"
)


def test_a_sealed_envelope_opens_with_its_key_only() -> None:
    sealed = seal(KEY, {"email": "li.wei@example.com"})
    assert sealed.alg == "A256GCM" and sealed.kid == "k-1"
    assert b"li.wei" not in base64.b64decode(sealed.ct)
    assert unseal(KEY, sealed) == {"email": "li.wei@example.com"}
    assert unseal(SubjectKey("k-1", new_secret()), sealed) is None  # another secret
    assert unseal(SubjectKey("k-2", KEY.secret), sealed) is None  # the kid is authenticated


def test_each_seal_has_its_own_nonce() -> None:
    assert seal(KEY, {"name": "Li"}).ct != seal(KEY, {"name": "Li"}).ct


def test_a_damaged_ciphertext_reads_as_erased_not_as_a_crash() -> None:
    sealed = seal(KEY, {"name": "Li"})
    raw = bytearray(base64.b64decode(sealed.ct))
    raw[-1] ^= 1
    assert unseal(KEY, Sealed(kid="k-1", ct=base64.b64encode(bytes(raw)).decode())) is None
    assert unseal(KEY, Sealed(kid="k-1", ct="not base64!")) is None


def test_sealing_empties_the_personal_fields_and_opening_restores_them() -> None:
    sealed = seal_payload(REF, KEY)
    assert (sealed.email, sealed.phone, sealed.name) == (None, None, None)
    assert sealed.external_id == "C-1" and sealed.sealed is not None
    assert open_payload(sealed, KEY) == REF
    assert kids_of([sealed, None, REF]) == {"k-1"}


def test_a_destroyed_key_opens_to_empty_fields() -> None:
    consent = ConsentReported(channel="email", purpose="marketing", granted=True, proof="I agree")
    opened = open_payload(seal_payload(consent, KEY), None)
    assert opened.proof is None and opened.granted is True and opened.sealed is None


def test_a_payload_without_personal_data_is_not_sealed() -> None:
    purchase = PurchaseCompleted(order_id="O-1", amount_minor=100, currency="CNY", channel="web")
    assert seal_payload(purchase, KEY) is purchase
    bare = CustomerRef(source="pos", external_id="C-2")
    assert seal_payload(bare, KEY).sealed is None
    assert open_payload(bare, None) is bare  # an unsealed (older) event reads as it is


def test_the_wire_holds_no_plaintext_and_reads_back_through_the_registry() -> None:
    registered = CustomerRegistered(channel="web", attributes={"birthday": "1990-01-02"})
    inbound = inbound_model(CustomerRegistered)(
        partner="p",
        partner_event_id="e-1",
        customer=seal_payload(REF, KEY),
        activity=seal_payload(registered, KEY),
    )
    event = new_event(inbound, source="/p", tenant_id="t", key="pos:C-1", time=_now())
    wire = encode(event)
    for secret in (b"li.wei@example.com", b"+8613800000000", b"1990-01-02", b'"Li"'):
        assert secret not in wire
    parsed = REGISTRY.parse(event.type, orjson.loads(wire)["data"])
    assert open_payload(parsed.customer, KEY) == REF  # type: ignore[attr-defined]
    assert open_payload(parsed.activity, KEY).attributes == {"birthday": "1990-01-02"}  # type: ignore[attr-defined]


def test_the_catalogue_shows_where_personal_fields_travel_sealed() -> None:
    entry = REGISTRY.catalogue()["events"]["crm.inbound.customer_registered.v1"]
    assert entry["sealed_fields"] == [
        "customer.email",
        "customer.phone",
        "customer.name",
        "activity.attributes",
        "activity.properties",
    ]
    customer = entry["schema"]["$defs"]["CustomerRef"]["properties"]
    assert "sealed" in customer  # the wire's schema shows the envelope; a partner's does not
    assert "sealed" not in orjson.dumps(EVENT_BODY).decode()


def test_the_key_cache_remembers_destroyed_keys_and_forgets_with_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr("shared.sealing.time.monotonic", lambda: clock[0])
    cache: KeyCache[str] = KeyCache(max_entries=2, ttl_seconds=60)
    cache.put("a", KEY)
    cache.put("gone", None)
    assert cache.get("a") == (True, KEY) and cache.get("gone") == (True, None)
    assert cache.missing(["a", "gone", "b", "b"]) == ["b"]
    cache.put("c", KEY)  # past two entries the least recently used goes
    assert cache.missing(["a", "gone", "c"]) == ["a"]
    clock[0] += 61
    assert cache.missing(["gone", "c"]) == ["gone", "c"]


def test_a_key_never_shows_its_secret() -> None:
    assert KEY.secret.hex() not in repr(KEY) and str(uuid.UUID(int=0)) not in repr(KEY)


def _now() -> datetime:
    return datetime(2026, 11, 30, tzinfo=UTC)


async def test_the_key_ring_asks_once_per_batch_and_remembers_erased_keys() -> None:
    calls: list[list[str]] = []

    def profile(request: httpx.Request) -> httpx.Response:
        kids = orjson.loads(request.content)["kids"]
        calls.append(kids)
        given = [
            {"source": "pos", "external_id": "C-1", "kid": k, "secret": _b64(KEY.secret)}
            for k in kids
            if k == "k-1"
        ]
        return httpx.Response(200, json={"keys": given})

    async with httpx.AsyncClient(transport=httpx.MockTransport(profile), base_url="http://p") as c:
        ring = KeyRing(c)
        assert await ring.keys("t", ["k-1", "gone", "k-1"]) == {"k-1": KEY}
        assert await ring.keys("t", ["gone", "k-1"]) == {"k-1": KEY}  # cached, erased too
    assert calls == [["gone", "k-1"]]


async def test_profile_away_keeps_the_batch_in_hand_rather_than_dead_lettering_it() -> None:
    def away(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(away), base_url="http://p") as c:
        with pytest.raises(KeysUnavailable) as raised:
            await KeyRing(c).keys("t", ["k-1"])
    assert classify(raised.value) is Kind.TRANSIENT


def _b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


def test_a_partner_may_not_post_a_sealed_envelope() -> None:
    sealed = {"kid": "k", "ct": "AAAA", "alg": "A256GCM"}
    posted = {
        "id": "e-1",
        "type": "complaint.filed",
        "occurred_at": "2026-11-29T23:00:00Z",
        "customer": {"source": "pos", "external_id": "C-1", "sealed": sealed},
        "data": {"complaint_ref": "T", "severity": "low", "category": "c", "channel": "web",
                 "sealed": sealed},
    }  # fmt: skip
    with pytest.raises(InvalidEvent) as refused:
        to_inbound(posted, Sender("t", "pos"), _now())
    assert [e["field"] for e in refused.value.errors] == ["customer.sealed", "data.sealed"]
    assert refused.value.status == 422


async def test_a_batch_repeating_an_id_seals_each_event_with_its_own_data() -> None:
    def profile(request: httpx.Request) -> httpx.Response:
        refs = orjson.loads(request.content)["references"]
        keys = [{**r, "kid": "k-1", "secret": _b64(KEY.secret)} for r in refs]
        return httpx.Response(200, json={"keys": keys})

    def posted(amount: int, name: str) -> Any:
        return to_inbound(
            {"id": "dup", "type": "purchase.completed", "occurred_at": "2026-11-29T23:00:00Z",
             "customer": {"source": "pos", "external_id": "C-1", "name": name},
             "data": {"order_id": "O", "amount_minor": amount, "currency": "CNY",
                      "channel": "web"}},
            Sender("t", "pos"),
            _now(),
        )  # fmt: skip

    async with httpx.AsyncClient(transport=httpx.MockTransport(profile), base_url="http://p") as c:
        events = [posted(10000, "Li"), posted(99000, "Wang")]
        sealed = await seal_events(Upstreams({"profile": c}), KeyCache(), "t", events)
    assert [e.data["activity"]["amount_minor"] for e in sealed] == [10000, 99000]
    names = [open_payload(e.payload().customer, KEY).name for e in sealed]  # type: ignore[attr-defined]
    assert names == ["Li", "Wang"] and all(b'"Li"' not in encode(e) for e in sealed)


def _keys_from(calls: list[Any]) -> httpx.MockTransport:
    """Profile's subject-keys route: one key for every reference, each call counted."""

    def profile(request: httpx.Request) -> httpx.Response:
        refs = orjson.loads(request.content)["references"]
        calls.append(refs)
        return httpx.Response(200, json={"keys": [{**r, "kid": "k-1", "secret": _b64(KEY.secret)}
                                                  for r in refs]})  # fmt: skip

    return httpx.MockTransport(profile)


def _posted(partner_type: str, data: dict[str, Any], ref: str = "C-1") -> Any:
    raw = {"id": f"{partner_type}-{ref}", "type": partner_type,
           "occurred_at": "2026-11-29T23:00:00Z",
           "customer": {"source": "pos", "external_id": ref}, "data": data}  # fmt: skip
    return to_inbound(raw, Sender("t", "pos"), _now())


async def test_a_resolution_and_properties_leave_the_gateway_sealed_as_v2() -> None:
    calls: list[Any] = []
    data = {"complaint_ref": "T-1", "resolution": "Refunded, sorry Li",
            "properties": {"note": "born 1990"}}  # fmt: skip
    resolved = _posted("complaint.resolved", data)
    async with httpx.AsyncClient(transport=_keys_from(calls), base_url="http://p") as c:
        [sealed] = await seal_events(Upstreams({"profile": c}), KeyCache(), "t", [resolved])
    wire = encode(sealed)
    assert sealed.type == "crm.inbound.complaint_resolved.v2" and len(calls) == 1
    assert b"Refunded" not in wire and b"born 1990" not in wire
    activity = REGISTRY.parse(sealed.type, orjson.loads(wire)["data"]).activity  # type: ignore[attr-defined]
    assert isinstance(activity, ComplaintResolved)  # a v1 consumer's isinstance finds it
    assert (activity.resolution, activity.properties) == ("", {})
    opened = open_payload(activity, KEY)
    assert (opened.resolution, opened.properties) == ("Refunded, sorry Li", {"note": "born 1990"})


async def test_properties_make_a_purchase_personal_and_a_bare_purchase_needs_no_key() -> None:
    calls: list[Any] = []
    base = {"order_id": "O-1", "amount_minor": 100, "currency": "CNY", "channel": "web"}
    bare = _posted("purchase.completed", base, "C-1")
    noted = _posted("purchase.completed", {**base, "properties": {"gift_for": "Mei"}}, "C-2")
    async with httpx.AsyncClient(transport=_keys_from(calls), base_url="http://p") as c:
        upstreams, cache = Upstreams({"profile": c}), KeyCache[Any]()
        assert await seal_events(upstreams, cache, "t", [bare]) == [bare]
        assert calls == []  # nothing personal: no call to profile
        [plain, sealed] = await seal_events(upstreams, cache, "t", [bare, noted])
    assert plain == bare and [r["external_id"] for r in calls[0]] == ["C-2"]
    assert b"Mei" not in encode(sealed) and sealed.data["activity"]["properties"] == {}
    assert open_payload(sealed.payload().activity, KEY).properties == {"gift_for": "Mei"}  # type: ignore[attr-defined]


def test_a_v1_resolution_in_the_clear_still_parses_and_v2_may_be_empty() -> None:
    v1 = {"complaint_ref": "T-1", "resolution": "Refunded", "properties": {"shop": "A"}}
    old = REGISTRY.parse("crm.activity.complaint_resolved.v1", v1)
    assert type(old) is ComplaintResolved and old.resolution == "Refunded"  # type: ignore[attr-defined]
    assert REGISTRY.type_name(ComplaintResolvedV2) == "crm.activity.complaint_resolved.v2"
    sealed = seal_payload(ComplaintResolvedV2(complaint_ref="T-1", resolution="Refunded"), KEY)
    again = REGISTRY.parse("crm.activity.complaint_resolved.v2", sealed.model_dump(mode="json"))
    assert again == sealed and open_payload(again, None).resolution == ""  # type: ignore[arg-type, attr-defined]
    with pytest.raises(DecodeError):  # v1 keeps its contract: a resolution is required
        REGISTRY.parse("crm.activity.complaint_resolved.v1", {"complaint_ref": "T-1"})
