"""RFC 9457 problem details: every error a client sees is one of these.

``type`` is a stable URN a client can switch on; ``detail`` tells a person
what to change. Unexpected errors become a bare 500 that leaks nothing.

Database errors get answers of their own, and are logged by class and SQLSTATE
only (their text may quote the values of a row: names, e-mails, complaint
texts): a busy or unreachable database (SQLite's "database is locked", a
PostgreSQL connection lost) is a 503 with ``Retry-After``; a value the database
refuses (class 22: out of range, a NUL character) is a 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import fastapi.routing
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shared import metrics
from shared.fields import summary

log = structlog.get_logger()

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 1

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


class BodyTooLarge(StarletteHTTPException):
    """The request body passed the limit (raised while reading it). An HTTPException, so
    FastAPI's body parsing lets it through instead of calling it unreadable JSON."""

    def __init__(self, limit: int) -> None:
        super().__init__(413)
        self.problem = Problem(
            413,
            "body-too-large",
            f"The body exceeds {limit} bytes; send less (split a batch into several).",
            limit=limit,
        )


def validation_problem(errors: list[Any], what: str = "the request") -> Problem:
    """A 422 (or a 400 for unreadable JSON) listing each invalid field."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem(400, "malformed-json", "The body is not valid JSON: check its syntax.")
    fields = [{"field": _field(e.get("loc", ())), "message": e["msg"]} for e in errors]
    # A cursor that is not one (its pattern says what one is) keeps its own type.
    slug = "invalid-cursor" if {f["field"] for f in fields} == {"query.cursor"} else None
    detail = f"Fix {what}: {summary(fields, 'body')}"
    return Problem(422, slug or "validation-failed", detail, errors=fields)


def _field(location: Sequence[Any]) -> str:
    """Where an error is: a body path (``data.score``), ``query.x``, or ``header.x`` in lower
    case, as HTTP/2 spells header names (and as the gateway names a bad forwarded header)."""
    parts = [str(part) for part in location if part != "body"]
    if parts[:1] == ["header"]:
        parts = [part.lower() for part in parts]
    return ".".join(parts)


def install_problem_handlers(app: FastAPI, service: str = "") -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, problem: Problem) -> JSONResponse:
        if problem.status == 429:  # which limit refused: crm_rate_limited_total
            metrics.RATE_LIMITED.labels(service, problem.slug).inc()
        return problem.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return validation_problem(list(error.errors())).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = _TITLES.get(error.status_code, "error").lower().replace(" ", "-")
        detail = str(error.detail) if error.detail else _TITLES.get(error.status_code, "Error")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return Problem(error.status_code, slug, detail, headers=headers).response()

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, error: BodyTooLarge) -> JSONResponse:
        return error.problem.response()

    @app.exception_handler(sa.DBAPIError)
    async def _database(request: Request, error: sa.DBAPIError) -> JSONResponse:
        return database_problem(request.url.path, error).response()

    @app.exception_handler(sa.TimeoutError)
    async def _pool_exhausted(request: Request, error: sa.TimeoutError) -> JSONResponse:
        log.warning("database pool exhausted", path=request.url.path)
        return _busy().response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return _internal().response()


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers: Starlette's 405 names only those of the
    first route on the path, and a path (``/v1/admin/api-keys``) may have several. A
    literal path (``/v1/customers/lookup``) answers for itself, not with the methods of
    a template it also fits (``/v1/customers/{customer_id}``); a hidden route's method
    (one that only refuses) is none the path answers."""
    path, root = request.scope.get("path", ""), request.scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path
    matching = [
        (template, answered)
        for route in _routes(request.app)
        if (template := getattr(route, "path", None))
        and (answered := getattr(route, "methods", None))
        and getattr(route, "include_in_schema", True)
        and compile_path(template)[0].match(path)
    ]
    if any("{" not in template for template, _ in matching):
        matching = [(t, answered) for t, answered in matching if "{" not in t]
    return ", ".join(sorted({m for _, answered in matching for m in answered}))


def _routes(app: Any) -> list[Any]:
    """Every route of ``app``, through included routers (FastAPI >= 0.160 nests them)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(flatten(app.router.routes) if flatten else app.router.routes)


def database_problem(path: str, error: sa.DBAPIError) -> Problem:
    """The answer to a database error, logged without its text (see the module's doc)."""
    sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
    kind = type(error.orig).__name__
    if isinstance(error, sa.OperationalError | sa.InterfaceError) or error.connection_invalidated:
        log.warning("database busy or unreachable", path=path, error=kind, sqlstate=sqlstate)
        return _busy()
    if sqlstate.startswith("22"):
        log.warning("database refused a value", path=path, error=kind, sqlstate=sqlstate)
        return Problem(
            422,
            "value-not-storable",
            "A value in the request cannot be stored (out of range, or holding a NUL "
            "character); check the values you sent.",
        )
    log.error("database error", path=path, error=kind, sqlstate=sqlstate, statement=error.statement)
    return _internal()


def _busy() -> Problem:
    return Problem(
        503,
        "database-busy",
        f"The database is busy or unreachable; retry in {RETRY_AFTER_SECONDS} second(s).",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _internal() -> Problem:
    return Problem(500, "internal-error", "Something went wrong on our side; try again later.")
