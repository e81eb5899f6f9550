"""A request id on every response (``X-Request-Id``) and on every log line of its request.

A caller's id is kept when it is a plain token (a proxy's or a partner's id, so
one request reads the same in every system it crosses); anything else gets a
fresh UUID. The gateway passes the id on to the service it forwards a call to,
so both services' log lines of one request carry one id.

The middleware wraps the whole app (outside Starlette's error handling), so an
unexpected 500 and its log line carry the id too.
"""

from __future__ import annotations

import contextvars
import re
import uuid

import httpx
import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
_RAW_HEADER = HEADER.lower().encode()
# What a caller's id may be: a token that is safe in a header, a log line and a trace.
_ACCEPTED = re.compile(rb"^[A-Za-z0-9._:=+/-]{1,128}$")
_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return _REQUEST_ID.get()


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` when it is acceptable, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == _RAW_HEADER:
            return value.decode("ascii") if _ACCEPTED.match(value) else str(uuid.uuid4())
    return str(uuid.uuid4())


class RequestId:
    """Gives each HTTP request its id: bound for its log lines, sent back on its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        header = (_RAW_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = _REQUEST_ID.set(request_id)
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            _REQUEST_ID.reset(token)


def install_request_id(app: FastAPI) -> None:
    """Put ``RequestId`` around the app's whole middleware stack (error handling
    included), however often the stack is built."""
    build = app.build_middleware_stack

    def build_with_request_id() -> ASGIApp:
        return RequestId(build())

    app.build_middleware_stack = build_with_request_id  # type: ignore[method-assign]


async def pass_request_id(request: httpx.Request) -> None:
    """An httpx request hook: a call made while serving a request carries its id."""
    request_id = _REQUEST_ID.get()
    if request_id is not None and HEADER not in request.headers:
        request.headers[HEADER] = request_id
