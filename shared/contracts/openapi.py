"""The conventions every app's OpenAPI document follows, so it says what the app does.

FastAPI documents a failure as ``application/json`` (and request validation as
its own ``HTTPValidationError``); our apps answer every failure as an RFC 9457
``application/problem+json`` (``shared.problems``), so every 4xx/5xx response
of the document is rewritten to that media type and the ``Problem`` schema.
Every route reads its body through the body limit (``shared.body_limit``), which
answers 400 for a Content-Length that is no number and 413 past the limit, so
every operation lists those two. A query or header parameter is never JSON
``null`` (it is absent instead), so an optional one is documented as its own
type rather than "that type or null".
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.contracts.errors import problem_response, problem_schemas

_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
_FRAMING = {
    400: "Content-Length is not a number, or the body is not JSON",
    413: "The body is larger than this service reads",
}


def install_openapi(app: FastAPI) -> None:
    """Serve ``app``'s document with the conventions applied (built once, then kept)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = conform(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def conform(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with problem+json failures, framing failures and null-free parameters."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas.update(problem_schemas())
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            _conform_operation(operation)
    return document


def _conform_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for framing, description in _FRAMING.items():
        responses.setdefault(str(framing), problem_response(framing, description))
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            documented = problem_response(int(status), response.get("description"))
            response["content"] = documented["content"]
            if "headers" in documented:
                response.setdefault("headers", documented["headers"])
    for parameter in operation.get("parameters", []):
        parameter["schema"] = _without_null(parameter.get("schema", {}))


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` as X, keeping the outer title, description and default."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [option for option in options if option.get("type") != "null"]
    if len(kept) != 1:
        return schema
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    if outer.get("default", ...) is None:
        del outer["default"]
    return {**kept[0], **outer}
