"""The RFC 9457 problem every failure is, as an OpenAPI schema, and the responses a route
documents with it.

``shared.problems`` builds the documents; this module says what they look like
(``Problem``) and gives each route the list of its failures
(``problem_responses(401, 404, ...)``), each ``application/problem+json`` with
that schema, and the headers that come with it (``WWW-Authenticate`` on 401,
``Retry-After`` on 429 and 503).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from shared.problems import MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
# A problem document kept as the dict ``shared.problems.Problem.body`` made (inside an
# answer, such as a batch item's error), documented as the ``Problem`` schema.
ProblemBody = Annotated[dict[str, Any], WithJsonSchema({"$ref": PROBLEM_REF})]


class FieldError(BaseModel):
    field: str = Field(description="Where: a body path (data.score), query.x or header.x")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: ``type`` is stable (switch on it), ``detail`` says what to do.
    Some problems carry more members (``limit``, ``balance``, ``dependency``...)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(
        pattern=r"^urn:crm:problem:[a-z0-9-]+$", examples=["urn:crm:problem:validation-failed"]
    )
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="Each invalid field, for validation failures"
    )


_WHY = {
    400: "The body is not JSON, or Content-Length is not a number",
    401: "No API key, or one that is unknown, revoked or expired, or a signed key's bad signature",
    403: "The API key lacks the scope, or may not act on this source, type or tenant",
    404: "Nothing of that id in the caller's tenant",
    409: "The request conflicts with the current state (see the problem's type)",
    412: "The resource changed since the version named in If-Match: read it again",
    413: "The body, or one event once wrapped, is larger than accepted",
    415: "The body is not application/json (or application/*+json) in UTF-8",
    422: "A parameter, header or body field is invalid; errors names each one",
    429: "Too many requests from this API key, or failed authentications from this address",
    503: "A database or service is busy or unreachable; retry shortly",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "How to authenticate: Bearer",
            "schema": {"type": "string"},
            "required": True,
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
            "required": True,
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying, when known",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One failure of a route: its description, the problem schema, its headers."""
    response: dict[str, Any] = {
        "description": description or _WHY[status],
        "content": {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The failures a route can answer, for its ``responses=``."""
    return {status: problem_response(status) for status in statuses}


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and what it refers to, for the document's ``components.schemas``."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}
