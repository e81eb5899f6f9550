"""The gateway's own API: ingestion of partner events, the event catalogue, API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.gateway import handlers, ingestion, keys, signing
from services.gateway.auth import Admin, Writer
from services.gateway.settings import GatewaySettings
from shared.app import Runtime, RuntimeDep
from shared.auth import SCOPES
from shared.events import REGISTRY, CloudEvent
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
    error: dict[str, Any] | None


class BatchResult(BaseModel):
    results: list[BatchItem]


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """The schema with its ``#/$defs/...`` references replaced by their definitions:
    embedded in the OpenAPI document, such references would point at its root."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {k: _inlined(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    return schema


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_EVENT_SCHEMA = _inlined(
    ingestion.PartnerEvent.model_json_schema(), ingestion.PartnerEvent.model_json_schema()["$defs"]
)
_EVENT_BODY = _body(_EVENT_SCHEMA)
_BATCH_BODY = _body(
    {
        "type": "object",
        "required": ["events"],
        "properties": {
            "events": {"type": "array", "items": _EVENT_SCHEMA, "minItems": 1, "maxItems": 500}
        },
    }
)


@router.post("/events", status_code=202, tags=["ingestion"], openapi_extra=_EVENT_BODY)
async def post_event(request: Request, runtime: RuntimeDep, caller: Writer) -> EventAccepted:
    """Accept one partner event; a repeat of its id is answered as a duplicate."""
    body = await _json_body(request, runtime, caller)
    sender = ingestion.Sender(caller.tenant_id, caller.partner)
    max_age = timedelta(days=_settings(runtime).max_event_age_days)
    try:
        event = ingestion.to_inbound(body, sender, runtime.clock.now(), max_age=max_age)
    except ingestion.InvalidEvent as invalid:
        raise _problem(invalid) from invalid
    fresh = await handlers.accept_events(runtime.db, sender, [event])
    return EventAccepted(event_id=event.id, status="accepted" if event.id in fresh else "duplicate")


@router.post("/events/batch", status_code=202, tags=["ingestion"], openapi_extra=_BATCH_BODY)
async def post_events(request: Request, runtime: RuntimeDep, caller: Writer) -> BatchResult:
    """Accept up to 500 events; each is accepted, a duplicate, or rejected on its own."""
    body = await _json_body(request, runtime, caller)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Problem(422, "validation-failed", 'Send {"events": [...]} with 1 to 500 events.')
    posted: list[Any] = body["events"]
    if not 1 <= len(posted) <= ingestion.MAX_BATCH:
        size = len(posted)
        raise Problem(
            413 if posted else 422,
            "batch-too-large" if posted else "validation-failed",
            f"A batch holds 1 to {ingestion.MAX_BATCH} events; this one has {size}. Split it.",
        )
    sender = ingestion.Sender(caller.tenant_id, caller.partner)
    now, max_age = runtime.clock.now(), timedelta(days=_settings(runtime).max_event_age_days)
    outcomes = [_batch_outcome(raw, sender, now, max_age) for raw in posted]
    events = [o for o in outcomes if not isinstance(o, ingestion.InvalidEvent)]
    fresh = await handlers.accept_events(runtime.db, sender, events)
    return BatchResult(results=_batch_items(outcomes, fresh))


def _batch_outcome(
    raw: Any, sender: ingestion.Sender, now: datetime, max_age: timedelta
) -> CloudEvent | ingestion.InvalidEvent:
    """One item of a batch, or why it is refused: whatever goes wrong building one item
    is that item's rejection, never the batch's 500."""
    try:
        return ingestion.to_inbound(raw, sender, now, max_age=max_age)
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


class NewApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    partner: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    scopes: list[
        Literal["events:write", "customers:read", "loyalty:write", "feedback:write", "admin"]
    ] = Field(min_length=1)
    signed: bool = Field(
        default=False,
        description="Require an HMAC signature on every post with this key "
        "(needs CRM_SIGNING_MASTER_KEY); the signing secret is shown once",
    )
    tenant_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_-]+$",
        description="Another tenant (a new business or brand): only the installation's "
        "operator, an admin of the default tenant, may name one; default: the caller's",
    )


class CreatedApiKey(BaseModel):
    key_id: uuid.UUID
    api_key: str = Field(description="Shown once; only its hash is kept")
    tenant_id: str
    partner: str
    scopes: list[str]
    signing_secret: str | None = Field(
        default=None, description="Shown once, for keys that sign their posts"
    )


@router.post("/admin/api-keys", status_code=201, tags=["admin"])
async def create_api_key(body: NewApiKey, runtime: RuntimeDep, caller: Admin) -> CreatedApiKey:
    """Create an API key for the caller's tenant (or, for the operator, another tenant);
    the key is shown once, in this answer."""
    tenant_id = body.tenant_id or caller.tenant_id
    if tenant_id != caller.tenant_id and caller.tenant_id != keys.DEFAULT_TENANT:
        raise Problem(403, "foreign-tenant", "Only the operator may create keys for other tenants.")
    master = _settings(runtime).signing_master_key
    if body.signed and master is None:
        raise Problem(
            422, "signing-not-configured", "Set CRM_SIGNING_MASTER_KEY to issue signing keys."
        )
    scopes = frozenset(body.scopes) & SCOPES
    key_id, secret = await keys.create_key(
        runtime.db,
        tenant_id=tenant_id,
        partner=body.partner,
        name=body.name,
        scopes=scopes,
        now=runtime.clock.now(),
        signed=body.signed,
    )
    return CreatedApiKey(
        key_id=key_id,
        api_key=secret,
        tenant_id=tenant_id,
        partner=body.partner,
        scopes=sorted(scopes),
        signing_secret=(
            signing.signing_secret(master.get_secret_value(), key_id)
            if body.signed and master
            else None
        ),
    )


def _settings(runtime: Runtime) -> GatewaySettings:
    return runtime.settings  # type: ignore[return-value]


async def _json_body(request: Request, runtime: Runtime, caller: keys.Principal) -> Any:
    """The request's JSON, read within the size limit (400 if unreadable), its signature
    checked when the caller's key signs its posts (401 if it does not hold)."""
    settings = _settings(runtime)
    if not ingestion.is_json(request.headers.get("content-type")):
        raise Problem(
            415,
            "unsupported-media-type",
            "Send the body as application/json (or an application/*+json type), in UTF-8.",
        )
    body = await request.body()  # bounded by the app's body limit (CRM_MAX_BODY_BYTES)
    if caller.signed:
        _check_signature(settings, caller, request, bytes(body), runtime.clock.now())
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Problem(400, "malformed-json", f"The body is not valid JSON: {error}.") from error


def _check_signature(
    settings: GatewaySettings,
    caller: keys.Principal,
    request: Request,
    body: bytes,
    now: datetime,
) -> None:
    master = settings.signing_master_key
    try:
        if master is None:
            raise signing.BadSignature("Signed keys cannot be verified: the master key is unset.")
        secret = signing.signing_secret(master.get_secret_value(), caller.key_id)
        signing.verify(secret, request.headers, body, now)
    except signing.BadSignature as refused:
        raise Problem(401, "invalid-signature", str(refused)) from refused


def _problem(invalid: ingestion.InvalidEvent) -> Problem:
    if invalid.errors:
        return Problem(invalid.status, invalid.slug, invalid.detail, errors=invalid.errors)
    return Problem(invalid.status, invalid.slug, invalid.detail)
