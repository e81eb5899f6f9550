"""Calls from one service to another over HTTP (the gateway's forwarded requests),
observed: latency and errors per upstream (``crm_upstream_*``), the request id passed
on, and a client span whose context travels in the ``traceparent`` header."""

from __future__ import annotations

import time
from typing import Any

import httpx

from shared import metrics, tracing
from shared.requestid import pass_request_id


class MeasuredTransport(httpx.AsyncBaseTransport):
    """Times each call to ``upstream`` (to its answer's headers) and counts failures:
    no answer in time (``timeout``), none at all (``unreachable``), a 5xx (``status_5xx``)."""

    def __init__(self, upstream: str, inner: httpx.AsyncBaseTransport) -> None:
        self._upstream, self._inner = upstream, inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            metrics.UPSTREAM_ERRORS.labels(self._upstream, "timeout").inc()
            raise
        except httpx.TransportError:
            metrics.UPSTREAM_ERRORS.labels(self._upstream, "unreachable").inc()
            raise
        status = response.status_code
        metrics.UPSTREAM_SECONDS.labels(self._upstream, request.method, str(status)).observe(
            time.perf_counter() - started
        )
        if status >= 500:
            metrics.UPSTREAM_ERRORS.labels(self._upstream, "status_5xx").inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def client(
    upstream: str, *, transport: httpx.AsyncBaseTransport | None = None, **options: Any
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` to ``upstream`` (``options`` as httpx takes them), observed."""
    measured = MeasuredTransport(upstream, transport or httpx.AsyncHTTPTransport())
    observed = httpx.AsyncClient(
        transport=measured, event_hooks={"request": [pass_request_id]}, **options
    )
    tracing.instrument_client(observed)
    return observed
