"""RFC 9457 problem details: every error a client sees is one of these.

``type`` is a stable URN a client can switch on; ``detail`` tells a person
what to change. Unexpected errors become a bare 500 that leaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger()

MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
}


def problem_type(slug: str) -> str:
    return f"urn:crm:problem:{slug}"


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body(), self.status, headers=dict(self.headers or {}), media_type=MEDIA_TYPE
        )


def validation_problem(errors: list[Any], what: str = "the request") -> Problem:
    """A 422 (or a 400 for unreadable JSON) listing each invalid field."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem(400, "malformed-json", "The body is not valid JSON: check its syntax.")
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e["msg"]}
        for e in errors
    ]
    summary = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields[:5])
    return Problem(422, "validation-failed", f"Fix {what}: {summary}", errors=fields)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, problem: Problem) -> JSONResponse:
        return problem.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return validation_problem(list(error.errors())).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = _TITLES.get(error.status_code, "error").lower().replace(" ", "-")
        detail = str(error.detail) if error.detail else _TITLES.get(error.status_code, "Error")
        return Problem(error.status_code, slug, detail, headers=error.headers).response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return Problem(
            500, "internal-error", "Something went wrong on our side; try again later."
        ).response()
