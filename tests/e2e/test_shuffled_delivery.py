"""Order does not matter: the same partner events (same ids, same customers) posted
through the gateway in event-time order to one tenant and shuffled to another end in
the same state for every customer: 360, stage, ledger and complaints.

Four partners, as in real life: the till (purchases), a returns system (refunds), a
ticketing system (complaints filed and resolved, with compensation) and a survey tool
(NPS answers); the shuffled delivery posts refunds before purchases, resolutions
before complaints and answers before the customer is known. Over the real topology
(PostgreSQL, Kafka, five processes).

What is left out of the comparison, and why: the churn risk (a score of *now*, which
moves between two reads), the value (CLV and value class come from the tenant's latest
model fit and the class floors its rescore cut, which depend on when each ran, not on
the order of the events: each tenant here has its own), ``stage_since`` (a late
event's move is dated no earlier than the stage it leaves began, so the history stays
in order: the design's rule for late events), ``updated_at`` and ids; complaints'
escalations (the sweep's, by the wall clock). Spend stays below the first tier up: the
points an order earns at a tier multiplier are decided on arrival (see
tests/handlers/test_order_independence.py).
No critical complaints: one blocks loyalty while it is open, and lifecycle hears of
complaints on another topic than of purchases, which no delivery orders.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.settings import ServiceSettings

CUSTOMERS = 150
PARTNERS = ("pos", "returns", "tickets", "surveys")
SETTLE_SECONDS = 40
SERVICES = ("gateway", "profile", "lifecycle", "feedback", "loyalty")


def history(run_id: str, seed: int) -> list[dict[str, Any]]:
    """Every customer's events, each with its partner (``_partner``), in event-time order:
    within the last day, so no silence or expiry falls due while the test runs."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=26)
    events: list[dict[str, Any]] = []
    for n in range(CUSTOMERS):
        customer = {"source": "pos", "external_id": f"S-{run_id}-{n}"}
        done = _doings(rng, n)
        minutes = sorted(rng.sample(range(1, 24 * 60), len(done)))
        for minute, (partner, kind, data, tag) in zip(minutes, done, strict=True):
            at = start + timedelta(minutes=minute, seconds=n % 60)
            events.append({
                "_partner": partner, "id": f"{partner}-{run_id}-{n}-{tag}", "type": kind,
                "occurred_at": at.isoformat(), "customer": customer, "data": data,
            })  # fmt: skip
    return sorted(events, key=lambda e: (e["customer"]["external_id"], e["occurred_at"]))


def _doings(rng: random.Random, n: int) -> list[tuple[str, str, dict[str, Any], str]]:
    """One customer's events, each after what it refers to: orders (free ones too),
    refunds of some in full or in part, maybe a complaint and its resolution, answers."""
    done: list[tuple[str, str, dict[str, Any], str]] = []
    orders = [(f"O-{n}-{i}", rng.choice([0, 1500, 30000, 79900])) for i in range(rng.randint(1, 6))]
    for order, amount in orders:
        data = {"order_id": order, "amount_minor": amount, "currency": "CNY", "channel": "store"}
        done.append(("pos", "purchase.completed", data, order))
    for order, amount in rng.sample(orders, k=rng.randint(0, min(2, len(orders)))):
        refund = amount if rng.random() < 0.5 else amount // 2
        data = {"order_id": order, "amount_minor": refund or 1, "currency": "CNY"}
        done.append(("returns", "order.refunded", data, f"r-{order}"))
    if rng.random() < 0.5:
        ref, severity = f"T-{n}", rng.choice(["low", "medium", "high"])
        data = {
            "complaint_ref": ref,
            "severity": severity,
            "category": "delivery",
            "channel": "phone",
        }
        done.append(("tickets", "complaint.filed", data, ref))
        if rng.random() < 0.7:
            data = {"complaint_ref": ref, "resolution": "replaced", "compensation_points": 100}
            done.append(("tickets", "complaint.resolved", data, f"done-{ref}"))
    for i in range(rng.randint(0, 2)):
        data = {"survey": "nps", "score": rng.randint(0, 10)}
        done.append(("surveys", "survey.responded", data, f"nps{i}"))
    return done


def in_waves(events: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """``events`` as batches that keep each customer's events in the given order (the
    only order that matters: every topic is keyed by customer): wave k holds every
    customer's k-th event, a batch per partner (a key posts for its partner)."""
    waves: dict[tuple[int, str], list[dict[str, Any]]] = {}
    seen: dict[str, int] = {}
    for e in events:
        ref = e["customer"]["external_id"]
        wave = seen[ref] = seen.get(ref, -1) + 1
        item = {k: v for k, v in e.items() if k != "_partner"}
        waves.setdefault((wave, e["_partner"]), []).append(item)
    return [(partner, batch) for (_, partner), batch in sorted(waves.items())]


async def keys_for(gateway: httpx.AsyncClient, tenant: str) -> dict[str, str]:
    """A key per partner of ``tenant`` (each posting for source ``pos``), and readers."""
    keys = {}
    for name in (*PARTNERS, "reader-0", "reader-1", "reader-2"):
        scopes = ["events:write"] if name in PARTNERS else ["customers:read"]
        if name == "tickets":
            scopes.append("loyalty:compensate")
        body = {"name": name, "partner": name.split("-")[0], "scopes": scopes,
                "sources": ["pos"], "tenant_id": tenant}  # fmt: skip
        created = await gateway.post("/v1/admin/api-keys", json=body)
        assert created.status_code == 201, created.text
        keys[name] = created.json()["api_key"]
    return keys


async def post(
    gateway: httpx.AsyncClient, keys: dict[str, str], events: Sequence[dict[str, Any]]
) -> None:
    """Post ``events``, each customer's in this order (``in_waves``)."""
    for partner, batch in in_waves(events):
        while True:
            answer = await gateway.post(
                "/v1/events/batch", json={"events": batch}, headers=_auth(keys[partner])
            )
            if answer.status_code != 429:
                break
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
        assert answer.status_code == 202, answer.text
        refused = [
            r for r in answer.json()["results"] if r.get("status") not in ("accepted", "duplicate")
        ]
        assert not refused, refused


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _get(gateway: httpx.AsyncClient, key: str, path: str, **params: Any) -> httpx.Response:
    while True:
        answer = await gateway.get(path, params=params, headers=_auth(key))
        if answer.status_code != 429:
            return answer
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))


async def customer_state(gateway: httpx.AsyncClient, key: str, external_id: str) -> Any:
    """What the customer's 360, ledger and complaints say, without what may differ."""
    found = await _get(gateway, key, "/v1/customers/lookup", source="pos", external_id=external_id)
    if found.status_code == 404:
        return None
    customer = found.json()["customer_id"]
    view = (await _get(gateway, key, f"/v1/customers/{customer}")).json()
    ledger = await _listed(gateway, key, f"/v1/customers/{customer}/loyalty/ledger", "entries")
    listed = await _listed(gateway, key, f"/v1/customers/{customer}/complaints", "complaints")
    return (
        _without(
            view,
            {"customer_id", "updated_at", "created_at", "churn_risk", "stage_since", "value"},
        ),
        sorted((e["kind"], e["points"], _cause(e["ref"])) for e in ledger),
        sorted(
            (
                _cause(c["complaint_ref"]),
                c["severity"],
                c["status"],
                c["resolved_at"],
                c["resolved_by"],
            )
            for c in listed
        ),
    )


async def _listed(gateway: httpx.AsyncClient, key: str, path: str, field: str) -> list[Any]:
    """One page of a customer's list (of 200 at most); none when the service has none."""
    answer = await _get(gateway, key, path, limit=200)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    return answer.json()[field]  # type: ignore[no-any-return]


def _cause(ref: str) -> str:
    """A reference without the ids each tenant derives (complaint ids, refund event ids,
    a detractor's recovery case named after the answer): ``order:O-1``, ``complaint``,
    ``compensation``, ``recovery``; a partner's own reference (``T-1``) as it is."""
    if ref.startswith("order:"):
        return ref.split("/")[0]
    return ref.split(":")[0]


def _without(value: Any, dropped: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, dropped) for k, v in value.items() if k not in dropped}
    if isinstance(value, list):
        return [_without(v, dropped) for v in value]
    return value


async def states(
    gateway: httpx.AsyncClient, keys: dict[str, str], ids: list[str]
) -> dict[str, Any]:
    """Every customer's state, a few read at a time (the gateway serves others too)."""
    readers = [keys[f"reader-{i}"] for i in range(3)]
    room = asyncio.Semaphore(12)

    async def one(i: int, external_id: str) -> Any:
        async with room:
            return await customer_state(gateway, readers[i % 3], external_id)

    found = await asyncio.gather(*(one(i, x) for i, x in enumerate(ids)))
    return dict(zip(ids, found, strict=True))


async def settled(topology: ServiceSettings) -> None:
    """Wait until every consumer has caught up and no outbox publishes any more: every
    service's ``crm_consumer_lag`` is 0 and ``crm_outbox_published_total`` still for a second."""
    loop = asyncio.get_running_loop()
    deadline, last = loop.time() + SETTLE_SECONDS, None
    async with httpx.AsyncClient(timeout=5) as client:
        while loop.time() < deadline:
            lag, published = 0.0, 0.0
            for service in SERVICES:
                metrics = await client.get(f"http://127.0.0.1:{topology.port_of(service)}/metrics")
                lag += _sum(metrics.text, "crm_consumer_lag{")
                published += _sum(metrics.text, "crm_outbox_published_total{")
            if lag == 0 and published == last:
                return
            last = published
            await asyncio.sleep(1)
    raise AssertionError(f"the services did not settle within {SETTLE_SECONDS}s")


def _sum(metrics: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(prefix)
    )


async def test_shuffled_delivery_ends_in_the_state_of_ordered_delivery(
    gateway: httpx.AsyncClient, topology: ServiceSettings, run_id: str
) -> None:
    events = history(run_id, seed=int(run_id, 16))
    shuffled = random.Random(run_id).sample(events, len(events))
    ordered_keys, shuffled_keys = await asyncio.gather(
        keys_for(gateway, f"ordered-{run_id}"), keys_for(gateway, f"shuffled-{run_id}")
    )
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.gather(
        post(gateway, ordered_keys, events), post(gateway, shuffled_keys, shuffled)
    )
    print(f"posted {len(events)} events twice: {loop.time() - began:.1f}s")

    ids = sorted({e["customer"]["external_id"] for e in events})
    for _ in range(3):  # a straggler (a sweep's due work) gets two more looks
        await settled(topology)
        ordered, mixed = await asyncio.gather(
            states(gateway, ordered_keys, ids), states(gateway, shuffled_keys, ids)
        )
        differing = [x for x in ids if ordered[x] != mixed[x] or ordered[x] is None]
        print(f"{len(differing)} of {len(ids)} differ: {loop.time() - began:.1f}s")
        if not differing:
            break
    share = len(differing) / len(ids)
    sample = {x: (ordered[x], mixed[x]) for x in differing[:3]}
    assert share == 0, f"{len(differing)} of {len(ids)} customers differ, e.g. {sample}"
