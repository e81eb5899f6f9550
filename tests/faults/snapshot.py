"""What a partner can read about every customer, in a form two tenants can be compared in.

Two tenants fed the same partner events must end alike: the same 360, stage and
stage history, loyalty account and ledger, complaints. What legitimately differs
between them is left out: ids the services mint (every UUID, alone or inside a
reference, reads ``<id>``) processing times (``updated_at``, ``escalated_at``) and scores of the
latest model fit (churn risk, value).
Lists are sorted, since entries with equal times have no order a partner may rely on.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# When a service did something, not when it happened. (``escalated_at`` is now the time
# the level fell due, capped at the sweep's now: kept out while a live run's cap can
# still differ between the two tenants by the seconds between their sweeps.)
PROCESSING_TIMES = {"updated_at", "recorded_at", "received_at", "escalated_at"}
# Scores of now under the tenant's latest model fit (churn risk, lifetime value), which
# each tenant refits and rescores on its own schedule: compared by the model's own tests.
MODEL_SCORES = {"churn_risk", "value"}
LEFT_OUT = PROCESSING_TIMES | MODEL_SCORES
READS = ("", "/lifecycle", "/loyalty", "/loyalty/ledger", "/complaints")


def normal(value: Any) -> Any:
    """``value`` without what two tenants may differ in."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in sorted(value.items()) if k not in LEFT_OUT}
    if isinstance(value, list):
        return sorted((normal(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str):
        return UUID.sub("<id>", value)  # alone, or inside as in ``order:…/refund:<id>``
    return value


async def customer(client: httpx.AsyncClient, source: str, external_id: str) -> dict[str, Any]:
    """Everything the reads give about one customer (``{"missing": ...}`` if unknown)."""
    found = await _get(client, "/v1/customers/lookup", source=source, external_id=external_id)
    if "customer_id" not in found:
        return {"missing": found}
    base = f"/v1/customers/{found['customer_id']}"
    state: dict[str, Any] = {}
    for read in READS:
        state[read or "360"] = normal(await _all_pages(client, base + read))
    return state


async def everyone(
    client: httpx.AsyncClient, refs: list[tuple[str, str]], concurrency: int = 8
) -> dict[tuple[str, str], dict[str, Any]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(ref: tuple[str, str]) -> tuple[tuple[str, str], dict[str, Any]]:
        async with gate:
            return ref, await customer(client, *ref)

    return dict(await asyncio.gather(*(one(ref) for ref in refs)))


def differences(
    expected: dict[tuple[str, str], dict[str, Any]], actual: dict[tuple[str, str], dict[str, Any]]
) -> dict[tuple[str, str], list[str]]:
    """Per customer whose state differs: which reads differ, and how (first lines)."""
    found: dict[tuple[str, str], list[str]] = {}
    for ref, state in expected.items():
        other = actual.get(ref, {})
        reads = sorted(set(state) | set(other))
        lines = [
            f"{read}: expected {_short(state.get(read))} got {_short(other.get(read))}"
            for read in reads
            if state.get(read) != other.get(read)
        ]
        if lines:
            found[ref] = lines
    return found


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 400 else text[:400] + "…"


async def _all_pages(client: httpx.AsyncClient, path: str) -> Any:
    """The read, with every page of a paged list folded into one answer."""
    body = await _get(client, path)
    while body.get("next_cursor"):
        more = await _get(client, path, cursor=body["next_cursor"])
        for key, items in more.items():
            if isinstance(items, list):
                body[key] = body[key] + items
        body["next_cursor"] = more.get("next_cursor")
    return body


async def _get(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    for attempt in range(10):
        answer = await client.get(path, params=params)
        if answer.status_code in (200, 404):
            return answer.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.5 * (attempt + 1))
    answer.raise_for_status()
    raise AssertionError(f"GET {path}: {answer.status_code}")
