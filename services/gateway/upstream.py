"""Reads are served by the service that owns the data; the gateway forwards them
with the caller's tenant, and passes the answer (or its problem) back unchanged."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx
from fastapi import Request, Response

from shared.problems import Problem

UPSTREAMS = ("profile", "lifecycle", "feedback", "loyalty")
FORWARDED_HEADERS = ("content-type", "idempotency-key")


class Upstreams:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self._clients = clients

    async def forward(self, service: str, path: str, tenant_id: str, request: Request) -> Response:
        """Forward the request (method, query, body, idempotency key) to ``service`` with
        the caller's tenant, and relay its answer."""
        headers = {"X-CRM-Tenant": tenant_id}
        for name in FORWARDED_HEADERS:
            if name in request.headers:
                headers[name] = request.headers[name]
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
        return Response(
            answer.content,
            answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
        )


@contextlib.asynccontextmanager
async def upstreams(
    urls: Mapping[str, str],
    transports: Mapping[str, httpx.AsyncBaseTransport] | None,
    timeout_seconds: float,
) -> AsyncIterator[Upstreams]:
    """HTTP clients to every service, open for the gateway's lifetime; in embedded
    mode ``transports`` reach the services' apps in-process."""
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=urls[name],
                    transport=(transports or {}).get(name),
                    timeout=timeout_seconds,
                )
            )
            for name in UPSTREAMS
        }
        yield Upstreams(clients)
