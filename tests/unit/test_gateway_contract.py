"""The gateway's OpenAPI document says what the gateway does: who may call each route,
what each answers (the services' very models on forwarded routes), every failure as an
RFC 9457 problem, the parameters a generated client needs, and /metrics as text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services import definition as service_definition
from services.gateway.app import definition
from shared.app import create_service_app
from shared.problems import MEDIA_TYPE

PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/events/catalogue"),
    ("get", "/v1/events/asyncapi.json"),
    ("post", "/v1/survey-responses"),
}  # fmt: skip  (the survey answer's token is its credential)
FORWARDED = {
    "/v1/customers/lookup": "profile",
    "/v1/customers/{customer_id}": "profile",
    "/v1/privacy/erasures/{erasure_id}": "profile",
    "/v1/customers/{customer_id}/lifecycle": "lifecycle",
    "/v1/customers/{customer_id}/churn-risk": "lifecycle",
    "/v1/lifecycle/funnel": "lifecycle",
    "/v1/lifecycle/customers": "lifecycle",
    "/v1/lifecycle/model": "lifecycle",
    "/v1/lifecycle/model/fit": "lifecycle",
    "/v1/lifecycle/sweep": "lifecycle",
    "/v1/customers/{customer_id}/loyalty": "loyalty",
    "/v1/customers/{customer_id}/loyalty/ledger": "loyalty",
    "/v1/customers/{customer_id}/loyalty/redemptions": "loyalty",
    "/v1/loyalty/sweep": "loyalty",
    "/v1/customers/{customer_id}/complaints": "feedback",
    "/v1/feedback/scores": "feedback",
    "/v1/feedback/sweep": "feedback",
    "/v1/customers/{customer_id}/complaints/{complaint_id}/resolution": "feedback",
    "/v1/profile/merge-candidates": "profile",
    "/v1/customers/merges": "profile",
    "/v1/customers/merges/{merge_id}": "profile",
    "/v1/customers/merges/{merge_id}/undo": "profile",
    "/v1/feedback/complaints": "feedback",
    "/v1/customers/{customer_id}/complaints/{complaint_id}": "feedback",
    "/v1/customers/{customer_id}/complaints/{complaint_id}/notes": "feedback",
    "/v1/feedback/surveys": "feedback",
    "/v1/customers/{customer_id}/survey-invitations": "feedback",
    "/v1/customers/{customer_id}/survey-responses": "feedback",
    "/v1/feedback/comments": "feedback",
    "/v1/survey-responses": "feedback",
}
# Routes whose body the gateway forwards with the calling key written in (actor, author,
# resolver).
VOUCHED = {
    ("patch", "/v1/customers/{customer_id}/complaints/{complaint_id}"),
    ("post", "/v1/customers/{customer_id}/complaints/{complaint_id}/resolution"),
    ("post", "/v1/customers/{customer_id}/complaints/{complaint_id}/notes"),
    ("post", "/v1/customers/merges"),
    ("post", "/v1/customers/merges/{merge_id}/undo"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_service_app(definition()).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _success(operation: dict[str, Any]) -> dict[str, Any]:
    return next(r for code, r in operation["responses"].items() if code.startswith("2"))


def test_every_failure_is_a_problem_document(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_authenticated_routes_require_the_bearer_scheme_and_say_how_they_fail(
    document: dict[str, Any],
) -> None:
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }
    for method, path, operation in _operations(document):
        if (method, path) in PUBLIC:
            assert "security" not in operation, path
            continue
        assert operation["security"] == [{"apiKey": []}], path
        assert {"401", "403", "422", "429", "503"} <= set(operation["responses"]), path
        assert operation["responses"]["429"]["headers"]["Retry-After"]["required"], path


def test_metrics_are_documented_as_prometheus_text(document: dict[str, Any]) -> None:
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]


def test_every_operation_documents_what_it_answers(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        success = _success(operation)
        if method == "delete" and "204" in operation["responses"]:
            assert "content" not in success, path
            continue
        schema = next(iter(success["content"].values()))["schema"]
        assert schema, (method, path)


def _service_documents() -> dict[str, dict[str, Any]]:
    return {
        name: create_service_app(service_definition(name)).openapi()
        for name in ("profile", "lifecycle", "loyalty", "feedback")
    }


def test_forwarded_routes_document_the_services_parameters_and_answers(
    document: dict[str, Any],
) -> None:
    services = _service_documents()
    for path, service in FORWARDED.items():
        for method, operation in document["paths"][path].items():
            upstream = services[service]["paths"][path][method]
            assert _parameters(operation) == _parameters(upstream), (method, path)
            assert _schema(_success(operation)) == _schema(_success(upstream)), (method, path)
            if (method, path) not in VOUCHED:
                assert _body(operation) == _body(upstream), (method, path)


def _parameters(operation: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(p["in"], p["name"]): p["schema"] for p in operation.get("parameters", [])}


def _schema(response: dict[str, Any]) -> Any:
    return response["content"]["application/json"]["schema"]


def _body(operation: dict[str, Any]) -> Any:
    body = operation.get("requestBody")
    return body and body["content"]["application/json"]["schema"]


def test_optional_parameters_are_their_type_never_null(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            assert "anyOf" not in parameter["schema"], (method, path, parameter["name"])


def _gateway() -> FastAPI:
    return create_service_app(definition())


async def test_a_405_names_every_method_of_the_path() -> None:
    transport = httpx.ASGITransport(app=_gateway())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.put("/v1/admin/api-keys")

    assert answer.status_code == 405
    assert answer.headers["content-type"] == MEDIA_TYPE
    assert {"GET", "POST"} <= {m.strip() for m in answer.headers["allow"].split(",")}


async def test_lookup_is_no_customer_to_erase() -> None:
    """``DELETE /v1/customers/{customer_id}`` would take ``lookup`` for an id (a 422)."""
    transport = httpx.ASGITransport(app=_gateway())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.delete("/v1/customers/lookup")

    assert (answer.status_code, answer.headers["allow"]) == (405, "GET")


async def test_merges_is_no_customer_to_read_edit_or_erase() -> None:
    """``GET``, ``PATCH`` and ``DELETE /v1/customers/{customer_id}`` would take ``merges``
    for an id (a 422 about its form); the contract run found the PATCH."""
    transport = httpx.ASGITransport(app=_gateway())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answers = [
            await client.request(method, "/v1/customers/merges", json={})
            for method in ("GET", "PATCH", "DELETE")
        ]

    assert [(a.status_code, a.headers["allow"]) for a in answers] == [(405, "POST")] * 3
