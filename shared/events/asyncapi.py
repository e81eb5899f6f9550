"""The event catalogue as an AsyncAPI 3.0 document, built from the registry (never a
copy): one channel per topic, one message per event type, each message the CloudEvents
envelope (structured JSON, as every topic carries it) whose ``data`` is the type's
payload schema. A consumer's code generator or a reader of AsyncAPI Studio gets what the
Kafka topics really hold; ``tests/contract`` validates it against the official schema.

Pydantic's nested definitions are hoisted to ``components/schemas`` (a ``$ref`` inside
an AsyncAPI document points into the document, not into the schema that holds it).
"""

from __future__ import annotations

from typing import Any

from shared.events.envelope import CONTENT_TYPE, TYPE_HEADER, CloudEvent
from shared.events.registry import Registry

_REFS = "#/components/schemas/{model}"


def _key(name: str) -> str:
    """A component or channel key (``[A-Za-z0-9._-]``)."""
    return name.replace("/", "_")


class _Schemas:
    """``components/schemas``: every model's schema once, by name."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def add(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        """Keep ``schema`` (and the definitions it holds) under ``name``; a reference to it."""
        for inner, definition in schema.pop("$defs", {}).items():
            self._keep(inner, definition)
        self._keep(name, schema)
        return {"$ref": _REFS.format(model=name)}

    def _keep(self, name: str, schema: dict[str, Any]) -> None:
        if self.named.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are both named {name}")


def _envelope(event_type: str, data: dict[str, str]) -> dict[str, Any]:
    """The CloudEvents envelope of one type: its fixed ``type`` and its ``data``."""
    schema = CloudEvent.model_json_schema()
    schema.pop("title", None)
    schema["properties"]["type"] = {"const": event_type, "type": "string"}
    schema["properties"]["data"] = data
    return schema


def _message(event_type: str, description: str, payload: dict[str, str]) -> dict[str, Any]:
    return {
        "name": event_type,
        "title": event_type,
        "summary": description,
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {TYPE_HEADER: {"const": event_type, "type": "string"}},
        },
        "payload": _envelope(event_type, payload),
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The partition key: the customer the event is about",
                },
                "bindingVersion": "0.5.0",
            }
        },
    }


def asyncapi(registry: Registry, version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every type in ``registry``."""
    schemas, messages = _Schemas(), {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for known in registry:
        payload = known.payload.model_json_schema(by_alias=True, ref_template=_REFS)
        reference = schemas.add(_key(known.type), payload)
        messages[_key(known.type)] = _message(known.type, known.description, reference)
        channel = channels.setdefault(
            _key(known.topic),
            {"address": known.topic, "title": known.topic, "messages": {}},
        )
        channel["messages"][_key(known.type)] = {
            "$ref": f"#/components/messages/{_key(known.type)}"
        }
    for name, channel in channels.items():
        operations[f"receive-{name}"] = {
            "action": "receive",
            "summary": f"Consume {channel['address']} (keyed by customer)",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{m}"} for m in channel["messages"]],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CRM lifecycle platform events",
            "version": version,
            "description": "Every event type on the platform's Kafka topics: CloudEvents 1.0 "
            "in structured JSON mode, keyed by customer; `data` follows the type's schema.",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas.named, "messages": messages},
    }
