"""The gateway's OpenAPI document, which front-end and partner developers read at /docs,
is whole: every reference resolves, and the ingestion bodies are described."""

from __future__ import annotations

from typing import Any

import jsonschema

from services.gateway.app import definition
from shared.app import create_service_app


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _resolve(document: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = document
    for part in pointer[2:].split("/"):
        node = node[part]
    return node


def test_every_reference_in_the_openapi_document_resolves() -> None:
    document = create_service_app(definition()).openapi()
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert _resolve(document, ref) is not None


def test_the_ingestion_bodies_describe_a_partner_event() -> None:
    paths = create_service_app(definition()).openapi()["paths"]
    single = paths["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    batch = paths["/v1/events/batch"]["post"]["requestBody"]["content"]["application/json"]
    events = batch["schema"]["properties"]["events"]
    assert set(single["required"]) == {"id", "type", "occurred_at", "customer", "data"}
    assert events["maxItems"] == 500 and events["items"] == single


def test_the_main_routes_show_examples_their_schemas_accept() -> None:
    """An example a client copies must be a valid answer."""
    document = create_service_app(definition()).openapi()
    main = {
        ("/v1/events", "post", "202"),
        ("/v1/customers/{customer_id}", "get", "200"),
        ("/v1/customers/{customer_id}/loyalty", "get", "200"),
        ("/v1/customers/{customer_id}/loyalty/redemptions", "post", "201"),
    }
    for path, method, status in main:
        content = document["paths"][path][method]["responses"][status]["content"]
        schema = {**content["application/json"]["schema"], "components": document["components"]}
        jsonschema.validate(content["application/json"]["example"], schema)
