"""The JSON Schema of a posted event, for the OpenAPI document of ``POST /v1/events``.

It says what ``ingestion`` accepts, so a client (or a test generator) that
follows it is never refused for the shape of its event: one alternative per
partner type (``type`` is a constant, ``data`` that type's payload), no
unknown field anywhere (``additionalProperties: false``, as the edge validates
with ``extra="forbid"``), no NUL character in any text, and a survey's score on
its own survey's scale. What a schema cannot say is in the descriptions:
``occurred_at`` lies between ``CRM_MAX_EVENT_AGE_DAYS`` ago and five minutes
ahead, and the wrapped event weighs at most 64 KiB.
"""

from __future__ import annotations

from typing import Any

from services.gateway.ingestion import MAX_BATCH, PartnerEvent
from shared.events.activity import ACTIVITIES, SURVEY_SCALES, CustomerRef, SurveyResponded
from shared.events.bounds import NO_NUL_PATTERN
from shared.events.envelope import MAX_ENVELOPE_BYTES

OCCURRED_AT = (
    "When it happened: not more than five minutes ahead of now, nor older than the "
    "gateway's CRM_MAX_EVENT_AGE_DAYS (3650 by default)"
)


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """The schema with its ``#/$defs/...`` references replaced by their definitions:
    embedded in the OpenAPI document, such references would point at its root."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {k: _inlined(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    return schema


def _strict(schema: Any) -> Any:
    """Closed objects and NUL-free texts, all the way down. The members of a
    ``properties`` keyword are schemas, the map itself is not (a field may be named
    ``properties``, as every activity's is)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {
        k: {name: _strict(member) for name, member in v.items()}
        if k == "properties" and isinstance(v, dict)
        else _strict(v)
        for k, v in schema.items()
    }
    if "properties" in strict:
        strict["additionalProperties"] = False
    textual = strict.get("type") == "string" or "maxLength" in strict
    if textual and "pattern" not in strict and "enum" not in strict and "const" not in strict:
        strict["pattern"] = NO_NUL_PATTERN
    return strict


def _model(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema()
    return _strict(_unsealed(_inlined(schema, schema.get("$defs", {}))))


def _unsealed(schema: Any) -> Any:
    """The schema without the ``sealed`` envelopes, which the gateway writes (``sealing``)
    and a partner never posts."""
    if isinstance(schema, list):
        return [_unsealed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    inner = {k: _unsealed(v) for k, v in schema.items()}
    if isinstance(inner.get("properties"), dict):
        inner["properties"] = {k: v for k, v in inner["properties"].items() if k != "sealed"}
    return inner


def _survey_data() -> dict[str, Any]:
    """A survey's answer: the score on the scale of the survey it answers."""
    base = _model(SurveyResponded)
    return {
        "oneOf": [
            {
                **base,
                # one title each: a client generator names each alternative's class by it
                "title": f"SurveyResponded{survey.title()}",
                "properties": {
                    **base["properties"],
                    "survey": {"const": survey},
                    "score": {"type": "integer", "minimum": low, "maximum": high},
                },
            }
            for survey, (low, high) in SURVEY_SCALES.items()
        ]
    }


def event_schema() -> dict[str, Any]:
    """One event as posted: one alternative per partner type."""
    envelope = _model(PartnerEvent)
    properties = envelope["properties"]
    properties["occurred_at"] = {**properties["occurred_at"], "description": OCCURRED_AT}
    properties["customer"] = _model(CustomerRef)
    alternatives = []
    for name, payload in ACTIVITIES.items():
        data = _survey_data() if payload is SurveyResponded else _model(payload)
        alternatives.append(
            {
                **envelope,
                "title": name,
                "properties": {**properties, "type": {"const": name}, "data": data},
            }
        )
    return {
        "type": "object",
        "required": envelope["required"],
        "description": f"One partner event; once wrapped it weighs at most "
        f"{MAX_ENVELOPE_BYTES // 1024} KiB (413 event-too-large). The data of each type: "
        "GET /v1/events/catalogue.",
        "oneOf": alternatives,
    }


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``schema`` as its JSON body."""
    content = {"schema": schema}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": content},
        }
    }


EVENT = event_schema()
EVENT_BODY = request_body(EVENT)
BATCH_BODY = request_body(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {"type": "array", "items": EVENT, "minItems": 1, "maxItems": MAX_BATCH}
        },
    }
)
