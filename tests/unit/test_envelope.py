"""The CloudEvents envelope: what every topic carries and every consumer reads."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from cloudevents.core.formats.json import JSONFormat
from hypothesis import given
from hypothesis import strategies as st

from shared.events import CloudEvent, DecodeError, decode, encode, new_event
from shared.events.activity import PurchaseCompleted
from shared.events.envelope import caused_event, tenant_of_encoded, type_of_encoded
from shared.events.loyalty import TierChanged
from shared.money import MAX_AMOUNT_MINOR

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
TYPE_PATTERN = re.compile(r"^crm\.[a-z]+\.[a-z_]+\.v[0-9]+$")


def _purchase(amount_minor: int = 129900, currency: str = "CNY") -> PurchaseCompleted:
    return PurchaseCompleted(
        order_id="O-77", amount_minor=amount_minor, currency=currency, channel="store"
    )


def _event(**overrides: object) -> CloudEvent:
    arguments: dict[str, object] = {
        "source": "/crm/profile",
        "tenant_id": "tenant-1",
        "key": "customer-1",
        "subject": "customer-1",
        "time": AT,
        "correlation_id": "request-1",
    }
    arguments.update(overrides)
    payload = arguments.pop("payload", _purchase())
    return new_event(payload, **arguments)  # type: ignore[arg-type]


def _encoded(**changes: object) -> bytes:
    """An encoded event with some attributes replaced (``None`` removes one)."""
    document = json.loads(encode(_event()))
    for name, value in changes.items():
        if value is None:
            document.pop(name)
        else:
            document[name] = value
    return json.dumps(document).encode()


def _refuse_float(text: str) -> float:
    raise AssertionError(f"a float in encoded JSON: {text}")


def test_encode_then_decode_gives_back_the_same_event():
    event = _event()

    assert decode(encode(event)) == event


def test_decoded_event_yields_the_typed_payload_it_was_built_from():
    payload = _purchase()

    assert decode(encode(_event(payload=payload))).payload() == payload


def test_encoded_event_carries_every_required_cloudevents_attribute():
    document = json.loads(encode(_event()))

    assert document["specversion"] == "1.0"
    assert uuid.UUID(document["id"])
    assert document["source"] == "/crm/profile"
    assert TYPE_PATTERN.match(document["type"])
    assert document["type"] == "crm.activity.purchase_completed.v1"
    assert document["time"] == "2026-11-20T10:15:00Z"
    assert document["subject"] == "customer-1"
    assert document["tenantid"] == "tenant-1"
    assert document["partitionkey"] == "customer-1"
    assert document["datacontenttype"] == "application/json"
    assert document["correlationid"] == "request-1"


def test_time_is_written_in_utc_with_z_whatever_the_offset_given():
    beijing = timezone(timedelta(hours=8))

    document = json.loads(encode(_event(time=datetime(2026, 11, 20, 18, 15, tzinfo=beijing))))

    assert document["time"] == "2026-11-20T10:15:00Z"


def test_unset_optional_attributes_are_left_out_rather_than_null():
    document = json.loads(encode(_event(subject=None, correlation_id=None)))

    assert not {"subject", "correlationid", "causationid"} & document.keys()


def test_new_events_get_distinct_ids_unless_one_is_given():
    chosen = uuid.uuid4()

    assert _event().id != _event().id
    assert _event(event_id=chosen).id == chosen


def test_topic_is_the_area_prefix_of_the_type():
    tier_changed = TierChanged(from_tier=None, to_tier="gold", cause="spend", at=AT)

    assert _event().topic == "crm.activity"
    assert _event(payload=tier_changed).topic == "crm.loyalty"


@pytest.mark.parametrize("raw", [b"", None])
def test_decode_refuses_an_empty_message(raw):
    with pytest.raises(DecodeError, match="empty message"):
        decode(raw)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"not json", "Invalid JSON"),
        (b"[1, 2]", "object"),
        (_encoded(tenantid=None), "tenantid"),
        (_encoded(id=None), "id"),
        (_encoded(type="crm.Activity.purchase_completed.v1"), "type"),
        (_encoded(type="purchase.completed"), "type"),
        (_encoded(type="crm.activity.purchase_completed"), "type"),
        (_encoded(time="2026-11-20T10:15:00"), "time: Input should have timezone info"),
        (_encoded(specversion="0.3"), "specversion"),
    ],
    ids=[
        "non-json",
        "not-an-object",
        "missing-tenantid",
        "missing-id",
        "uppercase-area",
        "partner-style-type",
        "no-version",
        "naive-time",
        "old-specversion",
    ],
)
def test_decode_says_what_is_wrong_with_an_unreadable_message(raw, says):
    with pytest.raises(DecodeError, match="not a valid CloudEvent") as raised:
        decode(raw)

    assert says in str(raised.value)


def test_decode_accepts_a_time_with_an_offset_as_the_same_instant():
    event = decode(_encoded(time="2026-11-20T11:15:00+01:00"))

    assert event.time == AT


def test_caused_event_id_is_the_same_for_the_same_cause_and_purpose():
    cause = _event()

    first = caused_event(_purchase(), cause, source="/crm/lifecycle", purpose="stage_changed")
    again = caused_event(_purchase(), cause, source="/crm/lifecycle", purpose="stage_changed")

    assert first.id == again.id


def test_caused_event_id_differs_by_purpose_and_by_cause():
    cause = _event()
    ids = {
        caused_event(_purchase(), cause, source="/crm/x", purpose="stage_changed").id,
        caused_event(_purchase(), cause, source="/crm/x", purpose="activity").id,
        caused_event(_purchase(), _event(), source="/crm/x", purpose="stage_changed").id,
    }

    assert len(ids) == 3
    assert cause.id not in ids


def test_caused_event_carries_tenant_correlation_causation_and_partner():
    cause = _event(subject=None, key="pos:C-1001", partner="pos-system")

    effect = caused_event(
        _purchase(), cause, source="/crm/profile", purpose="activity", subject="c-9"
    )

    assert effect.tenantid == cause.tenantid
    assert effect.correlationid == cause.correlationid
    assert effect.causationid == str(cause.id)
    assert effect.partner == "pos-system"
    assert decode(encode(effect)).partner == "pos-system"
    assert effect.subject == "c-9"
    assert effect.partitionkey == "c-9"
    assert effect.time == cause.time
    assert effect.source == "/crm/profile"


def test_caused_event_keeps_the_subject_and_key_of_its_cause_by_default():
    cause = _event(subject="c-1", key="c-1")

    effect = caused_event(_purchase(), cause, source="/crm/x", purpose="p", time=AT + timedelta(1))

    assert (effect.subject, effect.partitionkey) == ("c-1", "c-1")
    assert effect.time == AT + timedelta(days=1)


@given(
    amount_minor=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR),
    currency=st.sampled_from(["EUR", "CNY", "JPY", "KWD", "USD"]),
)
def test_money_is_an_integer_in_encoded_json_and_survives_the_round_trip(amount_minor, currency):
    raw = encode(_event(payload=_purchase(amount_minor, currency)))

    document = json.loads(raw, parse_float=_refuse_float)

    assert document["data"]["amount_minor"] == amount_minor
    assert decode(raw).payload() == _purchase(amount_minor, currency)


def test_official_cloudevents_sdk_reads_the_encoded_event():
    event = _event()

    parsed = JSONFormat().read(None, encode(event))

    assert parsed.get_specversion() == "1.0"
    assert parsed.get_id() == str(event.id)
    assert parsed.get_type() == event.type
    assert parsed.get_source() == event.source
    assert parsed.get_subject() == event.subject
    assert parsed.get_time() == event.time
    assert parsed.get_extension("tenantid") == "tenant-1"
    assert parsed.get_extension("partitionkey") == "customer-1"
    assert parsed.get_data() == orjson.loads(encode(event))["data"]


def test_the_type_is_read_from_an_encoded_event_without_parsing_it():
    raw = encode(_event(source='/crm/"type":"x"'))

    assert type_of_encoded(raw) == b"crm.activity.purchase_completed.v1"
    assert type_of_encoded(b'{"not": "an event"}') is None


def test_the_tenant_is_read_from_an_encoded_event_without_parsing_it():
    tricky = _event(source='/crm/"tenantid":"other"', payload=_purchase())

    assert tenant_of_encoded(encode(tricky)) == "tenant-1"
    assert tenant_of_encoded(encode(_event(tenant_id='we"ird'))) is None  # decoded to know
    assert tenant_of_encoded(b'{"not": "an event"}') is None
