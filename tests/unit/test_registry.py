"""The registry of event types: names, topics, typed payloads and the catalogue."""

from __future__ import annotations

import json
import re

import pytest

from shared import topics
from shared.events import REGISTRY, DecodeError
from shared.events.activity import ACTIVITIES, Inbound, PurchaseCompleted
from shared.events.registry import activity_type, inbound_type

TYPE_PATTERN = re.compile(r"^crm\.[a-z]+\.[a-z_]+\.v[0-9]+$")
ALL_TYPES = [t.type for t in REGISTRY]
PURCHASE = {"order_id": "O-77", "amount_minor": 129900, "currency": "CNY", "channel": "store"}


def _inbound() -> dict[str, object]:
    return {
        "partner": "pos",
        "partner_event_id": "pos-1",
        "customer": {"source": "pos", "external_id": "C-1"},
        "activity": PURCHASE,
    }


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_every_type_follows_the_naming_pattern(event_type):
    assert TYPE_PATTERN.match(event_type)


@pytest.mark.parametrize("known", list(REGISTRY), ids=ALL_TYPES)
def test_every_type_lives_on_a_declared_topic(known):
    assert known.topic in topics.PARTITIONS
    assert known.topic != topics.DEADLETTER
    assert known.type.startswith(known.topic + ".")


@pytest.mark.parametrize("partner_type", list(ACTIVITIES))
def test_every_partner_activity_is_registered_inbound_and_resolved(partner_type):
    assert inbound_type(partner_type) in REGISTRY
    assert activity_type(partner_type) in REGISTRY


def test_partner_type_names_map_to_inbound_and_activity_types():
    assert inbound_type("purchase.completed") == "crm.inbound.purchase_completed.v1"
    assert activity_type("purchase.completed") == "crm.activity.purchase_completed.v1"
    assert activity_type("order.refunded") == "crm.activity.order_refunded.v1"


def test_parse_returns_the_typed_payload():
    payload = REGISTRY.parse("crm.activity.purchase_completed.v1", PURCHASE)

    assert isinstance(payload, PurchaseCompleted)
    assert (payload.amount_minor, payload.currency) == (129900, "CNY")


def test_parse_of_an_inbound_type_wraps_the_activity_with_the_customer_reference():
    payload = REGISTRY.parse("crm.inbound.purchase_completed.v1", _inbound())

    assert isinstance(payload, Inbound)
    assert isinstance(payload.activity, PurchaseCompleted)
    assert payload.customer.external_id == "C-1"


def test_type_of_names_the_type_a_payload_is_registered_under():
    payload = PurchaseCompleted.model_validate(PURCHASE)

    assert REGISTRY.type_of(payload) == "crm.activity.purchase_completed.v1"
    assert REGISTRY.type_of(Inbound[PurchaseCompleted].model_validate(_inbound())) == (
        "crm.inbound.purchase_completed.v1"
    )


@pytest.mark.parametrize(
    "event_type",
    ["crm.activity.teleported.v1", "crm.activity.purchase_completed.v2", "purchase.completed"],
)
def test_parse_refuses_an_unknown_type_or_version_and_names_it(event_type):
    with pytest.raises(DecodeError, match="unknown event type or version") as raised:
        REGISTRY.parse(event_type, PURCHASE)

    assert event_type in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        {**PURCHASE, "amount_minor": -1},
        {**PURCHASE, "amount_minor": 12.5},
        {**PURCHASE, "currency": "XXY"},
        {k: v for k, v in PURCHASE.items() if k != "order_id"},
    ],
    ids=["negative-amount", "float-amount", "bad-currency", "missing-order-id"],
)
def test_parse_refuses_invalid_data_and_names_the_type(data):
    with pytest.raises(DecodeError, match=r"invalid crm\.activity\.purchase_completed\.v1 data"):
        REGISTRY.parse("crm.activity.purchase_completed.v1", data)


def test_parse_error_names_the_invalid_field():
    """The reason travels to the dead-letter topic: an operator needs the field."""
    data = {k: v for k, v in PURCHASE.items() if k != "currency"}

    with pytest.raises(DecodeError) as raised:
        REGISTRY.parse("crm.activity.purchase_completed.v1", data)

    assert "currency" in str(raised.value)


def test_parse_ignores_unknown_fields_so_adding_one_is_not_breaking():
    payload = REGISTRY.parse("crm.activity.purchase_completed.v1", {**PURCHASE, "gift": True})

    assert payload == PurchaseCompleted.model_validate(PURCHASE)


def test_catalogue_is_a_json_schema_document_listing_every_type():
    catalogue = REGISTRY.catalogue()

    assert json.loads(json.dumps(catalogue)) == catalogue
    assert catalogue["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(catalogue["events"]) == set(ALL_TYPES)


@pytest.mark.parametrize("known", list(REGISTRY), ids=ALL_TYPES)
def test_catalogue_entry_has_topic_description_and_object_schema(known):
    entry = REGISTRY.catalogue()["events"][known.type]

    assert entry["topic"] == known.topic
    assert entry["description"]
    assert entry["schema"]["type"] == "object"
    assert "properties" in entry["schema"]


def test_catalogue_describes_money_fields_as_integers():
    schema = REGISTRY.catalogue()["events"]["crm.activity.purchase_completed.v1"]["schema"]

    assert schema["properties"]["amount_minor"]["type"] == "integer"
    assert schema["properties"]["amount_minor"]["minimum"] == 0
    assert "currency" in schema["required"]


def test_catalogue_uses_the_wire_names_of_aliased_fields():
    schema = REGISTRY.catalogue()["events"]["crm.lifecycle.stage_changed.v1"]["schema"]

    assert {"from", "to"} <= schema["properties"].keys()
