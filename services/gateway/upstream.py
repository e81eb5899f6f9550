"""Reads are served by the service that owns the data; the gateway forwards them
with the caller's tenant, signed with the internal secret (``shared.internal``), and
passes the answer (or its problem) back unchanged."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from shared import outgoing
from shared.internal import TENANT_HEADER, InternalAuth
from shared.problems import Problem

UPSTREAMS = ("profile", "lifecycle", "feedback", "loyalty")
# What a forwarded header may hold: printable ASCII of a bounded length (HTTP allows
# no more, and the client library refuses anything else with an exception).
FORWARDED_HEADERS = {
    "content-type": re.compile(r"^[\x20-\x7e]{1,200}$"),
    "idempotency-key": re.compile(r"^[\x21-\x7e]{1,100}$"),
    "if-match": re.compile(r"^[\x20-\x7e]{1,200}$"),
}
# Accept is passed on when it is plain (else ignored, as before: JSON is the default).
_ACCEPT = re.compile(r"^[\x20-\x7e]{1,200}$")
# What a service's answer may carry back to the caller besides its body.
RELAYED_HEADERS = ("etag",)

STREAM_READ_SECONDS = 120.0  # the longest pause between an export's chunks


def forwarded_headers(request: Request) -> dict[str, str]:
    """The caller's headers the service needs, each checked (422 naming a bad one)."""
    headers = {}
    for name, allowed in FORWARDED_HEADERS.items():
        value = request.headers.get(name)
        if value is None:
            continue
        if not allowed.match(value):
            limit = 100 if name == "idempotency-key" else 200
            message = f"printable ASCII of at most {limit} characters"
            raise Problem(
                422,
                "validation-failed",
                f"Fix the {name} header: it must be {message}.",
                errors=[{"field": f"header.{name}", "message": message}],
            )
        headers[name] = value
    return headers


class Upstreams:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self._clients = clients

    async def forward(self, service: str, path: str, tenant_id: str, request: Request) -> Response:
        """Forward the request (method, query, body, idempotency key) to ``service`` with
        the caller's tenant, and relay its answer."""
        headers = {TENANT_HEADER: tenant_id, **forwarded_headers(request)}
        accept = request.headers.get("accept")
        if accept and _ACCEPT.match(accept):  # the analytics answer CSV when asked for it
            headers["accept"] = accept
        try:
            answer = await self._clients[service].request(
                request.method,
                path,
                params=request.query_params,
                content=await request.body(),
                headers=headers,
            )
        except httpx.HTTPError as error:
            raise Problem(
                503, "service-unavailable", f"The {service} service does not answer; retry shortly."
            ) from error
        relayed = {h: answer.headers[h] for h in RELAYED_HEADERS if h in answer.headers}
        return Response(
            answer.content,
            answer.status_code,
            headers=relayed,
            media_type=answer.headers.get("content-type", "application/json"),
        )

    async def get(
        self, service: str, path: str, tenant_id: str, params: Mapping[str, str]
    ) -> httpx.Response:
        """The gateway's own read of ``service`` for the tenant (not a client's request)."""
        try:
            return await self._clients[service].get(
                path, params=params, headers={TENANT_HEADER: tenant_id}
            )
        except httpx.HTTPError as error:
            raise Problem(
                503, "service-unavailable", f"The {service} service does not answer; retry shortly."
            ) from error

    async def post(
        self, service: str, path: str, tenant_id: str, body: Mapping[str, object]
    ) -> httpx.Response:
        """The gateway's own JSON ``body`` posted to ``service`` for the tenant (a read
        whose question is too long for a query string)."""
        try:
            return await self._clients[service].post(
                path, json=body, headers={TENANT_HEADER: tenant_id}
            )
        except httpx.HTTPError as error:
            raise Problem(
                503, "service-unavailable", f"The {service} service does not answer; retry shortly."
            ) from error

    async def send(
        self, service: str, method: str, path: str, tenant_id: str, params: Mapping[str, str]
    ) -> Response:
        """The gateway's own call of ``service`` for the tenant, its answer relayed."""
        try:
            answer = await self._clients[service].request(
                method, path, params=params, headers={TENANT_HEADER: tenant_id}
            )
        except httpx.HTTPError as error:
            raise Problem(
                503, "service-unavailable", f"The {service} service does not answer; retry shortly."
            ) from error
        return Response(
            answer.content,
            answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
        )

    async def stream(self, service: str, path: str, tenant_id: str, request: Request) -> Response:
        """Forward a GET whose answer may be large (an export), relaying it as it comes."""
        headers = {TENANT_HEADER: tenant_id, **forwarded_headers(request)}
        client = self._clients[service]
        # A large export pauses between chunks while the service reads its next page: under
        # load longer than a call's timeout, which would cut the stream short.
        patience = httpx.Timeout(client.timeout.connect, read=STREAM_READ_SECONDS)
        call = client.build_request(
            "GET", path, params=request.query_params, headers=headers, timeout=patience
        )
        try:
            answer = await client.send(call, stream=True)
        except httpx.HTTPError as error:
            raise Problem(
                503, "service-unavailable", f"The {service} service does not answer; retry shortly."
            ) from error
        return StreamingResponse(
            answer.aiter_raw(),
            answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
            background=BackgroundTask(answer.aclose),
        )


@contextlib.asynccontextmanager
async def upstreams(
    urls: Mapping[str, str],
    transports: Mapping[str, httpx.AsyncBaseTransport] | None,
    timeout_seconds: float,
    internal_secret: str,
) -> AsyncIterator[Upstreams]:
    """HTTP clients to every service, open for the gateway's lifetime, signing each
    call; in embedded mode ``transports`` reach the services' apps in-process."""
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(
                outgoing.client(  # timed and counted per service, traced, the request id passed
                    name,
                    base_url=urls[name],
                    transport=(transports or {}).get(name),
                    timeout=timeout_seconds,
                    auth=InternalAuth(internal_secret),
                )
            )
            for name in UPSTREAMS
        }
        yield Upstreams(clients)


def with_body(request: Request, body: bytes) -> Request:
    """The request with another JSON body: what the gateway forwards when it adds what
    only it knows (the deciding or recording API key) to the caller's body."""
    headers = [
        (name, value)
        for name, value in request.scope["headers"]
        if name not in (b"content-type", b"content-length")
    ] + [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({**request.scope, "headers": headers}, receive)
