"""Gateway ingestion: what a partner may post to ``POST /v1/events`` and what it becomes."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.auth import EventRefused, authorize_event
from services.gateway.ingestion import (
    MAX_CLOCK_SKEW,
    InvalidEvent,
    Sender,
    event_id,
    is_json,
    to_inbound,
)
from services.gateway.keys import Principal
from shared.events import encode
from shared.events.activity import (
    ACTIVITIES,
    REVISED,
    ComplaintResolvedV2,
    Inbound,
    PurchaseCompleted,
)
from shared.events.envelope import MAX_ENVELOPE_BYTES
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
    "customer.updated": {"attributes": {"plan": "gold", "interests": ["tea"], "score": 4.5}},
    "consent.changed": {
        "channel": "email",
        "purpose": "marketing",
        "granted": True,
        "proof": "Signed up at the till",
        "properties": {"campaign": "winter", "till": 4},
    },
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

    version = REVISED.get(partner_type, (1, None))[0]
    assert event.type == inbound_type(partner_type, version)
    assert isinstance(event.payload().activity, ACTIVITIES[partner_type])  # type: ignore[attr-defined]


def test_a_complaint_resolved_is_validated_as_v1_and_written_as_v2_with_its_resolution():
    posted = _posted(type="complaint.resolved", data=VALID_DATA["complaint.resolved"])
    event = to_inbound(posted, POS, NOW)

    assert event.type == "crm.inbound.complaint_resolved.v2"
    activity = event.payload().activity  # type: ignore[attr-defined]
    assert type(activity) is ComplaintResolvedV2
    assert activity.resolution == VALID_DATA["complaint.resolved"]["resolution"]
    refused = _refusal(_posted(type="complaint.resolved", data={"complaint_ref": "T-1"}))
    assert refused.errors == [{"field": "data.resolution", "message": "Field required"}]


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


# Strict at the edge: unknown fields, NUL characters, old events, the size budget


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_with_data(colour="red"), "data.colour"),
        (_posted(customer={**POSTED["customer"], "colour": "red"}), "customer.colour"),
        (
            _with_data(items=[{"sku": "S-1", "amount_minor": 100, "colour": "red"}]),
            "data.items.0.colour",
        ),
    ],
    ids=["in-data", "in-customer", "in-a-line-item"],
)
def test_an_unknown_field_is_refused_naming_it(raw, field):
    invalid = _refusal(raw)

    assert invalid.slug == "validation-failed"
    assert _fields(invalid) == {field}
    assert field in invalid.detail


def test_the_bus_keeps_ignoring_unknown_fields_for_forward_compatibility():
    newer = {**POSTED["data"], "colour": "red"}

    assert PurchaseCompleted.model_validate(newer) == PurchaseCompleted.model_validate(
        POSTED["data"]
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_with_data(channel="st\x00re"), "data.channel"),
        (_posted(customer={**POSTED["customer"], "name": "Li\x00Wei"}), "customer.name"),
        (
            _posted(
                type="customer.registered", data={"channel": "web", "attributes": {"k\x00": 1}}
            ),
            "data.attributes.k\\u0000",
        ),
        (
            _posted(type="complaint.filed", data={**VALID_DATA["complaint.filed"], "text": "\x00"}),
            "data.text",
        ),
        (_posted(id="pos\x00"), "id"),
    ],
    ids=["data", "customer", "attribute-key", "complaint-text", "id"],
)
def test_a_nul_character_anywhere_is_refused_naming_the_field(raw, field):
    invalid = _refusal(raw)

    assert invalid.slug == "validation-failed"
    assert field in _fields(invalid)
    assert "NUL" in invalid.detail


def test_a_survey_score_off_its_scale_names_data_score():
    invalid = _refusal(_posted(type="survey.responded", data={"survey": "nps", "score": 11}))

    assert _fields(invalid) == {"data.score"}


@pytest.mark.parametrize(
    "attributes",
    [
        {"note": "x" * 1_001},
        {"k" * 65: "v"},
        {"big": 2**53},
        {f"k{i}": i for i in range(51)},
    ],
    ids=["long-value", "long-key", "huge-int", "too-many"],
)
def test_customer_attributes_are_bounded(attributes):
    raw = _posted(type="customer.registered", data={"channel": "web", "attributes": attributes})

    assert {f.split(".")[1] for f in _fields(_refusal(raw))} == {"attributes"}


def test_an_event_older_than_the_maximum_age_is_refused():
    invalid = _refusal(_posted(occurred_at="1900-01-01T00:00:00Z"))

    assert _fields(invalid) == {"occurred_at"}
    assert "past" in invalid.detail


def test_the_maximum_age_is_configurable_and_18_months_of_history_pass():
    eighteen_months_ago = (NOW - timedelta(days=548)).isoformat()

    assert to_inbound(_posted(occurred_at=eighteen_months_ago), POS, NOW).time < NOW
    with pytest.raises(InvalidEvent):
        to_inbound(_posted(occurred_at=eighteen_months_ago), POS, NOW, max_age=timedelta(days=365))


@pytest.mark.parametrize(
    "occurred_at",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2101-01-01T00:00:00Z"],
)
def test_an_occurred_at_beyond_the_years_1900_to_2100_is_refused_not_a_crash(occurred_at):
    assert _fields(_refusal(_posted(occurred_at=occurred_at))) == {"occurred_at"}


def test_an_event_past_the_envelope_budget_is_refused_as_too_large():
    items = [
        {"sku": f"S-{i}-" + "x" * 120, "amount_minor": 1, "category": "c" * 64} for i in range(300)
    ]
    invalid = _refusal(_with_data(items=items))

    assert (invalid.status, invalid.slug) == (413, "event-too-large")
    assert str(MAX_ENVELOPE_BYTES) in invalid.detail


def test_the_largest_ascii_customer_registration_fits_the_budget():
    attributes = {f"{i:02d}" + "k" * 62: "v" * 1_000 for i in range(50)}
    raw = _posted(type="customer.registered", data={"channel": "web", "attributes": attributes})

    assert len(encode(to_inbound(raw, POS, NOW))) <= MAX_ENVELOPE_BYTES


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        (None, True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ('application/cloudevents+json; charset="UTF-8"', True),
        ("application/json; charset=latin-1", False),
        ("text/plain; note=json", False),
        ("application/jsonp", False),
        ("application/+json", False),
        ("text/json", False),
        ("multipart/form-data; boundary=json", False),
    ],
)
def test_only_json_media_types_are_read(content_type, accepted):
    assert is_json(content_type) is accepted


def test_data_nested_deeper_than_pythons_recursion_limit_is_refused_not_a_crash():
    nested: dict[str, object] = {"text": "\x00"}
    for _ in range(1_100):
        nested = {"inner": nested}

    raw = _posted()
    raw["data"]["extra"] = nested  # type: ignore[index]

    invalid = _refusal(raw)

    assert invalid.slug == "validation-failed"
    assert all(len(f) <= 200 for f in _fields(invalid))


def test_a_v2_resolution_is_authorised_as_the_partner_type_it_was_posted_as():
    """The gateway writes complaint.resolved as v2: a key's type list and the compensation
    scope still apply to it by its partner type."""
    posted = {**VALID_DATA["complaint.resolved"], "compensation_points": 100}
    event = to_inbound(_posted(type="complaint.resolved", data=posted), POS, NOW)
    assert event.type == "crm.inbound.complaint_resolved.v2"

    def key(scopes: set[str], types: set[str] | None = None) -> Principal:
        allowed = frozenset(types) if types is not None else None
        return Principal(
            uuid.uuid4(),
            "t",
            "pos",
            frozenset(scopes),
            sources=frozenset({"pos"}),
            event_types=allowed,
        )

    authorize_event(key({"events:write", "loyalty:compensate"}, {"complaint.resolved"}), event)
    with pytest.raises(EventRefused) as no_points:
        authorize_event(key({"events:write"}), event)
    with pytest.raises(EventRefused) as no_type:
        authorize_event(key({"events:write", "loyalty:compensate"}, {"complaint.filed"}), event)
    assert (no_points.value.slug, no_type.value.slug) == (
        "insufficient-scope",
        "event-type-not-allowed",
    )
    assert "'complaint.resolved'" in no_type.value.detail
