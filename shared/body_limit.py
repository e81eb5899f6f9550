"""One bounded body reader for every route of every service.

A route that reads a body (FastAPI parsing a model, the gateway forwarding a
request, ingestion reading a batch) reads it through this middleware, so no
route can be made to buffer more than the service's ``max_body_bytes``
(``CRM_MAX_BODY_BYTES``), whatever it does with the body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import BodyTooLarge, Problem


class BodyLimit:
    """One bounded body reader for every route: a declared ``Content-Length`` above
    ``limit`` is refused before the app runs, and a streamed body is cut off as it passes
    the limit (413 problem+json either way), so no route can be made to buffer more."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None:
            bad = Problem(400, "bad-content-length", "Content-Length must be a number of bytes.")
            await bad.response()(scope, receive, send)
            return
        if declared > self.limit:
            await BodyTooLarge(self.limit).problem.response()(scope, receive, send)
            return
        received, started = 0, False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTooLarge as too_large:
            if started:
                raise
            await too_large.problem.response()(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared body length (0 when none is declared), or None if it is no number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 20 else None
    return 0
