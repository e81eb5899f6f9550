"""The CloudEvents 1.0 envelope, structured JSON mode, as every topic carries it.

Extensions: ``tenantid`` (every event belongs to one tenant), ``correlationid``
(the partner's original request), ``causationid`` (the event that caused this
one), ``partitionkey`` (the customer the event is about, also the Kafka key)
``partner`` (the partner whose post started the chain, so a service can
tell whose complaint or order a later event may touch), and the CloudEvents
distributed-tracing extension, ``traceparent`` and ``tracestate`` (the W3C trace
context the event was created in, so one purchase is one trace: ``shared.tracing``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.events.payload import DecodeError, Payload
from shared.events.registry import REGISTRY
from shared.fields import field_errors, summary
from shared.tracing import MAX_TRACESTATE, TRACEPARENT_PATTERN, current

CONTENT_TYPE = "application/cloudevents+json"
# A Kafka header repeating the event's type, so a consumer can skip a type it does not
# apply without parsing the event (structured mode keeps the event whole in the value).
TYPE_HEADER = "crm-type"
_TYPE_FIELD = b'"type":"'
_TENANT_FIELD = b'"tenantid":"'
# What one encoded event may weigh: well under the broker's 1 MiB per message, so
# whatever the gateway accepts can always be published (and re-published downstream,
# where a service's event carries no more than the partner's did).
MAX_ENVELOPE_BYTES = 64 * 1024


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(max_length=128, pattern=r"^crm\.[a-z]+\.[a-z_]+\.v[0-9]+$")
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=256)
    datacontenttype: Literal["application/json"] = "application/json"
    tenantid: str = Field(min_length=1, max_length=64)
    partitionkey: str = Field(min_length=1, max_length=256)
    correlationid: str | None = Field(default=None, max_length=64)
    causationid: str | None = Field(default=None, max_length=64)
    partner: str | None = Field(default=None, max_length=64)
    traceparent: str | None = Field(default=None, max_length=55, pattern=TRACEPARENT_PATTERN)
    tracestate: str | None = Field(
        default=None, max_length=MAX_TRACESTATE, pattern=r"^[\x20-\x7e]*$"
    )
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        """The topic of the event's area: ``crm.activity.x.v1`` lives on ``crm.activity``."""
        return ".".join(self.type.split(".")[:2])

    def payload(self) -> Payload:
        """The typed payload, validated against the registry (raises ``DecodeError``)."""
        return REGISTRY.parse(self.type, self.data)


def new_event(
    payload: Payload,
    *,
    source: str,
    tenant_id: str,
    key: str,
    time: datetime,
    subject: str | None = None,
    event_id: uuid.UUID | None = None,
    correlation_id: str | None = None,
    causation_id: uuid.UUID | None = None,
    partner: str | None = None,
    trace: tuple[str | None, str | None] | None = None,
) -> CloudEvent:
    """Wrap a registered payload in its envelope; ``trace`` is its trace context
    (``traceparent``, ``tracestate``), by default the span current now (none when
    tracing is off)."""
    if time.tzinfo is None:
        raise ValueError("an event's time must carry its timezone")
    traceparent, tracestate = current() if trace is None else trace
    return CloudEvent(
        id=event_id or uuid.uuid4(),
        source=source,
        type=REGISTRY.type_of(payload),
        time=time.astimezone(UTC),
        subject=subject,
        tenantid=tenant_id,
        partitionkey=key,
        correlationid=correlation_id,
        causationid=str(causation_id) if causation_id else None,
        partner=partner,
        traceparent=traceparent,
        tracestate=tracestate,
        data=payload.model_dump(mode="json", by_alias=True),
    )


def caused_event(
    payload: Payload,
    cause: CloudEvent,
    *,
    source: str,
    purpose: str,
    subject: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """An event published because of ``cause``: same tenant, customer, correlation,
    partner and trace context, and an id derived from the cause, so re-processing the
    cause emits the same event."""
    subject = subject or cause.subject
    return new_event(
        payload,
        source=source,
        tenant_id=cause.tenantid,
        key=subject or cause.partitionkey,
        subject=subject,
        time=time or cause.time,
        event_id=derived_id(cause.id, purpose),
        correlation_id=cause.correlationid,
        causation_id=cause.id,
        partner=cause.partner,
        trace=(cause.traceparent, cause.tracestate),
    )


def derived_id(cause: uuid.UUID, purpose: str) -> uuid.UUID:
    """A deterministic id for an event caused by another, so a replay emits the same id."""
    return uuid.uuid5(cause, purpose)


def encode(event: CloudEvent) -> bytes:
    """The event as structured-mode CloudEvents JSON."""
    return orjson.dumps(event.model_dump(mode="json", exclude_none=True))


def type_of_encoded(raw: bytes) -> bytes | None:
    """The ``type`` of an event as ``encode`` writes it, read without parsing the JSON
    (``encode`` writes ``"type":"…"`` near the start, and a type holds no quote); None
    if it cannot be found."""
    return _field_of_encoded(raw, _TYPE_FIELD, 512)


def tenant_of_encoded(raw: bytes) -> str | None:
    """The ``tenantid`` of an event as ``encode`` writes it (before ``data``, whatever the
    payload's size), read without parsing the JSON; None if it cannot be found for sure
    (an escaped character in it, say): then the event is decoded to know."""
    found = _field_of_encoded(raw, _TENANT_FIELD, 2048)
    if found is None or b"\\" in found:
        return None
    return found.decode(errors="replace")


def _field_of_encoded(raw: bytes, field: bytes, within: int) -> bytes | None:
    """A top-level string field's value from the first ``within`` bytes of ``raw``. A
    key written as ``"name":"`` cannot occur inside a string value (its quotes would
    be escaped), and the envelope's fields come before ``data``."""
    start = raw.find(field, 0, within)
    if start < 0:
        return None
    start += len(field)
    end = raw.find(b'"', start, start + 128)
    return raw[start:end] if end > 0 else None


def decode(raw: bytes | None) -> CloudEvent:
    """Read an envelope from bytes (``DecodeError`` says what is wrong)."""
    if not raw:
        raise DecodeError("empty message: expected a CloudEvents JSON object")
    try:
        return CloudEvent.model_validate_json(raw)
    except ValidationError as error:
        problems = summary(field_errors(error.errors()), "body")
        raise DecodeError(f"not a valid CloudEvent: {problems}") from error
