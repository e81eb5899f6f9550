"""Browsers: which other origins' pages may call the API (``CRM_CORS_ORIGINS``, none by
default, so without it no page of another origin can read an answer).

A preflight from an origin not listed is refused with a problem+json 400 that says
what to set; an allowed origin may send the headers the API reads (the bearer key, a
JSON body, an idempotency key) and read the ones it answers with (``Retry-After``,
``Location``). Credentials (cookies) are never allowed: keys travel in the
``Authorization`` header, and a browser should hold only a publishable key.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from services.gateway.settings import GatewaySettings
from shared.problems import Problem

ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
EXPOSED_HEADERS = ["Retry-After", "Location", "X-Request-Id"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class ProblemCORS(CORSMiddleware):
    """Starlette's CORS, its refusals in the API's problem+json."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        refused = Problem(
            400,
            "cors-refused",
            "This origin, method or header may not call the API from a browser; an operator "
            "lists allowed origins in CRM_CORS_ORIGINS.",
        ).response()
        refused.headers["Vary"] = answer.headers.get("Vary", "Origin")
        return refused


def install_cors(app: FastAPI, settings: GatewaySettings) -> None:
    """Answer browsers of the listed origins; with none listed, add nothing."""
    origins = settings.cors_origin_list
    if not origins:
        return
    app.add_middleware(
        ProblemCORS,
        allow_origins=origins,
        allow_methods=METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )
