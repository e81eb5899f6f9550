"""The event catalogue as AsyncAPI 3: ``GET /v1/events/asyncapi.json`` is valid against
the official AsyncAPI 3.0.0 JSON Schema, whole (every reference resolves), and built
from the registry (every type a message on its topic's channel, its data the payload's
schema).

The schema is vendored (``asyncapi/3.0.0.json``: ``schemas/3.0.0-without-$id.json`` of
the npm package ``@asyncapi/specs`` 6.11.1, Apache-2.0), since no PyPI package ships it
and tests reach no other site.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from services.gateway.app import definition
from shared.app import create_service_app
from shared.events import REGISTRY
from tests.unit.test_gateway_openapi import _refs, _resolve

SCHEMA = json.loads((Path(__file__).parent / "asyncapi" / "3.0.0.json").read_text())


@pytest.fixture(scope="module")
async def document() -> dict[str, Any]:
    app = create_service_app(definition())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/v1/events/asyncapi.json")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert errors == []
    assert document["asyncapi"] == "3.0.0"


def test_the_validation_refuses_a_broken_document(document: dict[str, Any]) -> None:
    """The vendored schema really checks: a channel without a string address fails."""
    broken = json.loads(json.dumps(document))
    broken["channels"]["crm.lifecycle"]["address"] = 5
    del broken["info"]["title"]
    assert len(list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))) == 2


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert len(refs) > 100
    for ref in refs:
        assert _resolve(document, ref) is not None, ref


def test_every_registered_type_is_a_message_on_its_topic(document: dict[str, Any]) -> None:
    for known in REGISTRY:
        channel = document["channels"][known.topic]
        assert channel["address"] == known.topic
        assert known.type in channel["messages"]
        message = document["components"]["messages"][known.type]
        envelope = message["payload"]
        assert envelope["properties"]["type"]["const"] == known.type
        data = _resolve(document, envelope["properties"]["data"]["$ref"])
        assert set(data.get("properties", {})) == {
            field.alias or name for name, field in known.payload.model_fields.items()
        }
    stage = document["components"]["schemas"]["crm.lifecycle.stage_changed.v1"]
    assert {"from", "to", "at", "cause"} <= set(stage["properties"])
