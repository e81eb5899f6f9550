"""The gateway's own API: ingestion of partner events and the event catalogue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.gateway import examples, handlers, ingestion, keys, sealing
from services.gateway.auth import Writer, authorize_event, failures
from services.gateway.event_schema import BATCH_BODY, EVENT_BODY
from services.gateway.links import link, links
from services.gateway.runtime import GatewayRuntime, RuntimeDep
from shared.contracts.errors import ProblemBody
from shared.events import REGISTRY, CloudEvent
from shared.events.asyncapi import asyncapi
from shared.problems import Problem

log = structlog.get_logger()
router = APIRouter(prefix="/v1")


class EventAccepted(BaseModel):
    event_id: uuid.UUID
    status: Literal["accepted", "duplicate"]


class BatchItem(BaseModel):
    index: int
    event_id: uuid.UUID | None
    status: Literal["accepted", "duplicate", "rejected"]
    error: ProblemBody | None = Field(description="Why it was rejected; null otherwise")


class BatchResult(BaseModel):
    results: list[BatchItem]


# What ingestion itself can answer: an unreadable body (400), a body or an event too large
# (413), a body that is not JSON (415); 422 and 403 (a source or type the key may not post
# for) are among every authenticated route's.
INGESTION_FAILURES = failures(400, 413, 415)


@router.post(
    "/events",
    status_code=202,
    tags=["ingestion"],
    openapi_extra={
        **EVENT_BODY,
        **links(
            202,
            LookupCustomer=link(
                "/v1/customers/lookup",
                "get",
                source="$request.body#/customer/source",
                external_id="$request.body#/customer/external_id",
            ),
        ),
    },
    responses=INGESTION_FAILURES | examples.answer(202, examples.EVENT_ACCEPTED),
)
async def post_event(request: Request, runtime: RuntimeDep, caller: Writer) -> EventAccepted:
    """Accept one partner event; a repeat of its id is answered as a duplicate."""
    body = await _json_body(request)
    sender = ingestion.Sender(caller.tenant_id, caller.partner)
    max_age = timedelta(days=runtime.settings.max_event_age_days)
    try:
        event = ingestion.to_inbound(body, sender, runtime.clock.now(), max_age=max_age)
        authorize_event(caller, event)
    except ingestion.InvalidEvent as invalid:
        raise _problem(invalid) from invalid
    [event] = await seal_events(runtime, [event])
    fresh = await handlers.accept_events(runtime.db, sender, [event])
    return EventAccepted(event_id=event.id, status="accepted" if event.id in fresh else "duplicate")


@router.post(
    "/events/batch",
    status_code=202,
    tags=["ingestion"],
    openapi_extra=BATCH_BODY,
    responses=INGESTION_FAILURES,
)
async def post_events(request: Request, runtime: RuntimeDep, caller: Writer) -> BatchResult:
    """Accept up to 500 events; each is accepted, a duplicate, or rejected on its own."""
    posted = _batch_events(await _json_body(request))
    sender = ingestion.Sender(caller.tenant_id, caller.partner)
    now, max_age = runtime.clock.now(), timedelta(days=runtime.settings.max_event_age_days)
    outcomes = [_batch_outcome(raw, caller, sender, now, max_age) for raw in posted]
    events = [o for o in outcomes if not isinstance(o, ingestion.InvalidEvent)]
    events = await seal_events(runtime, events)
    fresh = await handlers.accept_events(runtime.db, sender, events)
    return BatchResult(results=_batch_items(outcomes, fresh))


async def seal_events(runtime: GatewayRuntime, events: list[CloudEvent]) -> list[CloudEvent]:
    """The events with their personal fields sealed (``sealing``), for the caller's tenant."""
    if not events:
        return events
    resources = runtime.resources
    tenant = events[0].tenantid
    await resources.erasures.fresh()  # no key an erasure destroyed seals anything more
    return await sealing.seal_events(resources.upstreams, resources.subject_keys, tenant, events)


def _batch_events(body: Any) -> list[Any]:
    """The events of a batch body: ``{"events": [...]}`` with 1 to 500, and nothing else."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Problem(422, "validation-failed", 'Send {"events": [...]} with 1 to 500 events.')
    unknown = sorted(str(name)[:200] for name in body if name != "events")
    if unknown:
        message = "is not a member of a batch; send only events"
        raise Problem(
            422,
            "validation-failed",
            f"Fix the batch: {', '.join(unknown[:5])} {message}.",
            errors=[{"field": name, "message": message} for name in unknown[:50]],
        )
    posted: list[Any] = body["events"]
    if not 1 <= len(posted) <= ingestion.MAX_BATCH:
        size = len(posted)
        raise Problem(
            413 if posted else 422,
            "batch-too-large" if posted else "validation-failed",
            f"A batch holds 1 to {ingestion.MAX_BATCH} events; this one has {size}. Split it.",
        )
    return posted


def _batch_outcome(
    raw: Any, caller: keys.Principal, sender: ingestion.Sender, now: datetime, max_age: timedelta
) -> CloudEvent | ingestion.InvalidEvent:
    """One item of a batch, or why it is refused: whatever goes wrong building one item
    is that item's rejection, never the batch's 500."""
    try:
        event = ingestion.to_inbound(raw, sender, now, max_age=max_age)
        authorize_event(caller, event)
        return event
    except ingestion.InvalidEvent as invalid:
        return invalid
    except Exception as error:
        log.exception("batch item could not be built", error=type(error).__name__)
        return ingestion.InvalidEvent(
            "invalid-event", "This event could not be read; check it against the catalogue."
        )


def _batch_items(
    outcomes: Sequence[CloudEvent | ingestion.InvalidEvent], fresh: set[uuid.UUID]
) -> list[BatchItem]:
    items, claimed = [], set()
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, ingestion.InvalidEvent):
            items.append(
                BatchItem(
                    index=index, event_id=None, status="rejected", error=_problem(outcome).body()
                )
            )
            continue
        first = outcome.id in fresh and outcome.id not in claimed
        claimed.add(outcome.id)
        items.append(
            BatchItem(
                index=index,
                event_id=outcome.id,
                status="accepted" if first else "duplicate",
                error=None,
            )
        )
    return items


@router.get("/events/catalogue", tags=["ingestion"])
async def event_catalogue() -> dict[str, Any]:
    """Every event type on the platform's topics, with the JSON Schema of its data."""
    return REGISTRY.catalogue()


@router.get("/events/asyncapi.json", tags=["ingestion"])
async def event_asyncapi(request: Request) -> dict[str, Any]:
    """The event catalogue as an AsyncAPI 3.0 document: a channel per topic, a message per
    event type (the CloudEvents envelope with the type's data schema)."""
    return asyncapi(REGISTRY, request.app.version)


async def _json_body(request: Request) -> Any:
    """The request's JSON (400 if unreadable), read within the app's body limit; a signed
    key's signature was checked over these bytes by the authentication dependency."""
    if not ingestion.is_json(request.headers.get("content-type")):
        raise Problem(
            415,
            "unsupported-media-type",
            "Send the body as application/json (or an application/*+json type), in UTF-8.",
        )
    body = await request.body()  # bounded by the app's body limit (CRM_MAX_BODY_BYTES)
    try:
        return ingestion.whole_numbers(orjson.loads(body))
    except orjson.JSONDecodeError as error:
        raise Problem(400, "malformed-json", f"The body is not valid JSON: {error}.") from error


def _problem(invalid: ingestion.InvalidEvent) -> Problem:
    if invalid.errors:
        return Problem(invalid.status, invalid.slug, invalid.detail, errors=invalid.errors)
    return Problem(invalid.status, invalid.slug, invalid.detail)
