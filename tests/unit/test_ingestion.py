"""Gateway ingestion: what a partner may post to ``POST /v1/events`` and what it becomes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.ingestion import MAX_CLOCK_SKEW, InvalidEvent, Sender, event_id, to_inbound
from shared.events.activity import ACTIVITIES, Inbound, PurchaseCompleted
from shared.events.registry import inbound_type

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
POS = Sender(tenant_id="tenant-1", partner="pos")
POSTED = {
    "id": "pos-000123",
    "type": "purchase.completed",
    "occurred_at": "2026-11-20T10:15:00Z",
    "customer": {
        "source": "pos",
        "external_id": "C-1001",
        "email": "li.wei@example.com",
        "phone": "+8613800000000",
        "name": "Li Wei",
    },
    "data": {"order_id": "O-77", "amount_minor": 129900, "currency": "CNY", "channel": "store"},
}
VALID_DATA = {
    "customer.registered": {"channel": "web", "attributes": {"newsletter": True}},
    "engagement.recorded": {"kind": "cart", "channel": "app"},
    "purchase.completed": POSTED["data"],
    "order.refunded": {"order_id": "O-77", "amount_minor": 1000},
    "complaint.filed": {
        "complaint_ref": "T-1",
        "severity": "high",
        "category": "delivery",
        "channel": "phone",
        "text": "Late.",
    },
    "complaint.resolved": {
        "complaint_ref": "T-1",
        "resolution": "Refunded the delivery fee.",
        "compensation_points": 100,
    },
    "survey.responded": {"survey": "nps", "score": 9},
    "account.closed": {},
}


def _posted(**changes: object) -> dict[str, object]:
    posted = copy.deepcopy(POSTED)
    posted.update(copy.deepcopy(changes))
    return posted


def _with_data(**changes: object) -> dict[str, object]:
    return _posted(data={**POSTED["data"], **changes})  # type: ignore[dict-item]


def _without_data_field(name: str) -> dict[str, object]:
    posted = _posted()
    del posted["data"][name]  # type: ignore[attr-defined]
    return posted


def _refusal(raw: object, now: datetime = NOW) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as raised:
        to_inbound(raw, POS, now)
    return raised.value


def _fields(invalid: InvalidEvent) -> set[str]:
    return {e["field"] for e in invalid.errors}


def test_valid_purchase_becomes_an_inbound_purchase_event():
    event = to_inbound(_posted(), POS, NOW)

    assert event.type == "crm.inbound.purchase_completed.v1"
    assert event.topic == "crm.inbound"
    assert event.source == "/partners/pos"
    assert event.tenantid == "tenant-1"
    assert event.time == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def test_inbound_event_is_keyed_by_the_partners_customer_reference():
    assert to_inbound(_posted(), POS, NOW).partitionkey == "pos:C-1001"


def test_inbound_event_carries_partner_customer_and_typed_activity():
    payload = to_inbound(_posted(), POS, NOW).payload()

    assert isinstance(payload, Inbound)
    assert (payload.partner, payload.partner_event_id) == ("pos", "pos-000123")
    assert payload.customer.email == "li.wei@example.com"
    assert payload.activity == PurchaseCompleted.model_validate(POSTED["data"])


def test_event_id_is_derived_from_tenant_partner_and_partner_event_id():
    event = to_inbound(_posted(), POS, NOW)

    assert event.id == event_id(POS, "pos-000123")
    assert event.correlationid == str(event.id)


def test_a_retried_post_gets_the_same_event_id():
    first = to_inbound(_posted(), POS, NOW)
    retry = to_inbound(_posted(), POS, NOW + timedelta(minutes=1))

    assert first.id == retry.id


def test_another_partner_tenant_or_partner_id_gets_another_event_id():
    ids = {
        to_inbound(_posted(), POS, NOW).id,
        to_inbound(_posted(), Sender("tenant-1", "shop"), NOW).id,
        to_inbound(_posted(), Sender("tenant-2", "pos"), NOW).id,
        to_inbound(_posted(id="pos-000124"), POS, NOW).id,
    }

    assert len(ids) == 4


@pytest.mark.parametrize("partner_type", list(ACTIVITIES))
def test_every_documented_type_is_accepted(partner_type):
    event = to_inbound(_posted(type=partner_type, data=VALID_DATA[partner_type]), POS, NOW)

    assert event.type == inbound_type(partner_type)
    assert isinstance(event.payload().activity, ACTIVITIES[partner_type])  # type: ignore[attr-defined]


def test_unknown_type_is_refused_naming_it_and_the_known_types():
    invalid = _refusal(_posted(type="purchase.teleported"))

    assert invalid.slug == "unknown-event-type"
    assert "purchase.teleported" in invalid.detail
    assert "purchase.completed" in invalid.detail


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_with_data(amount_minor=-1), "data.amount_minor"),
        (_with_data(amount_minor=1299.5), "data.amount_minor"),
        (_with_data(amount_minor="129900"), "data.amount_minor"),
        (_with_data(currency="XXY"), "data.currency"),
        (_with_data(currency="cny"), "data.currency"),
        (_without_data_field("amount_minor"), "data.amount_minor"),
        (_without_data_field("order_id"), "data.order_id"),
    ],
    ids=[
        "negative-amount",
        "float-amount",
        "string-amount",
        "unknown-currency",
        "lowercase-currency",
        "missing-amount",
        "missing-order-id",
    ],
)
def test_invalid_data_is_refused_naming_the_field(raw, field):
    invalid = _refusal(raw)

    assert invalid.slug == "validation-failed"
    assert field in _fields(invalid)
    assert field in invalid.detail


def test_every_invalid_field_is_listed_with_a_message():
    invalid = _refusal(_with_data(amount_minor=-1, currency="XXY"))

    assert _fields(invalid) == {"data.amount_minor", "data.currency"}
    assert all(e["message"] for e in invalid.errors)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_posted(customer={"source": "pos"}), "customer.external_id"),
        (_posted(customer={**POSTED["customer"], "email": "li.wei"}), "customer.email"),
        (_posted(id=""), "id"),
        (_posted(id="has space"), "id"),
    ],
    ids=["missing-external-id", "bad-email", "empty-id", "id-with-space"],
)
def test_invalid_envelope_fields_are_refused_naming_the_field(raw, field):
    invalid = _refusal(raw)

    assert invalid.slug == "validation-failed"
    assert field in _fields(invalid)


@pytest.mark.parametrize("missing", ["id", "type", "occurred_at", "customer", "data"])
def test_missing_top_level_field_is_refused_naming_it(missing):
    raw = _posted()
    del raw[missing]

    assert missing in _fields(_refusal(raw))


def test_occurred_at_without_a_timezone_is_refused():
    invalid = _refusal(_posted(occurred_at="2026-11-20T10:15:00"))

    assert invalid.slug == "validation-failed"
    assert _fields(invalid) == {"occurred_at"}


def test_occurred_at_far_in_the_future_is_refused():
    invalid = _refusal(_posted(occurred_at="2026-11-21T10:15:00Z"))

    assert invalid.slug == "validation-failed"
    assert "future" in invalid.detail


def test_occurred_at_within_the_allowed_clock_skew_is_accepted():
    just_ahead = (NOW + MAX_CLOCK_SKEW).isoformat()

    assert to_inbound(_posted(occurred_at=just_ahead), POS, NOW).time == NOW + MAX_CLOCK_SKEW


def test_occurred_at_with_an_offset_is_stored_as_the_same_instant_in_utc():
    event = to_inbound(_posted(occurred_at="2026-11-20T18:15:00+08:00"), POS, NOW)

    assert event.time == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert event.time.utcoffset() == timedelta(0)


def test_extra_top_level_fields_are_refused():
    invalid = _refusal(_posted(amount=5))

    assert invalid.slug == "validation-failed"
    assert _fields(invalid) == {"amount"}


@pytest.mark.parametrize("raw", [[POSTED], "purchase", None, 42])
def test_a_body_that_is_not_an_object_is_refused(raw):
    assert _refusal(raw).slug == "validation-failed"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"compensation_points": -1}, "data.compensation_points"),
        ({"compensation_points": 1.5}, "data.compensation_points"),
        ({"resolution": "x" * 10_001}, "data.resolution"),
        ({"complaint_ref": ""}, "data.complaint_ref"),
    ],
    ids=["negative-points", "fractional-points", "long-resolution", "empty-ref"],
)
def test_an_invalid_resolution_is_refused_naming_the_field(data, field):
    valid = VALID_DATA["complaint.resolved"]
    invalid = _refusal(_posted(type="complaint.resolved", data={**valid, **data}))

    assert invalid.slug == "validation-failed"
    assert field in _fields(invalid)
