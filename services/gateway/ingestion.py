"""Ingestion rules: what a partner may post, and the event it becomes.

Validation happens here, at the edge, against the event registry, so nothing
malformed reaches Kafka. The event id is derived from (tenant, partner,
partner's event id): a retried post carries the same id, and every inbox
downstream drops it even if it slipped past the receipt table.

The edge is stricter than the bus. Payload models ignore unknown fields, so a
newer service's event never makes an older consumer dead-letter it; a partner's
post, though, is validated with ``extra="forbid"`` (recursively, through
``customer``, ``data`` and line items), so a misspelt field is a 422 naming it
rather than a value silently dropped. NUL characters, which PostgreSQL cannot
store, are refused here with the field named, and the wrapped event must fit
``MAX_ENVELOPE_BYTES``, so whatever is accepted can be published.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shared.events import CloudEvent, encode, new_event
from shared.events.activity import ACTIVITIES, CustomerRef, inbound_model, written
from shared.events.bounds import NUL, Ref
from shared.events.envelope import MAX_ENVELOPE_BYTES
from shared.events.payload import Payload
from shared.fields import field_errors, summary
from shared.instants import Instant
from shared.sealing import Personal

INGESTION_NAMESPACE = uuid.UUID("6f1c3c52-8d5e-4a0c-9a51-2b7f4c1e0d11")
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=3650)
MAX_BATCH = 500


def _rfc3339_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(
            "occurred_at is an RFC 3339 string with a timezone, e.g. 2026-11-20T10:15:00Z"
        )
    return value


class PartnerEvent(BaseModel):
    """One event as a partner posts it to ``POST /v1/events``."""

    model_config = ConfigDict(extra="forbid")

    id: Ref
    type: str = Field(
        max_length=64,
        examples=list(ACTIVITIES),
        description="One of the partner event types; GET /v1/events/catalogue has each one's data",
    )
    occurred_at: Annotated[Instant, BeforeValidator(_rfc3339_text)] = Field(
        examples=["2026-11-20T10:15:00Z"]
    )
    customer: CustomerRef
    data: dict[str, Any]


@dataclass
class InvalidEvent(Exception):
    """Why an event was refused; ``errors`` names each bad field."""

    slug: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    status: int = 422


@dataclass(frozen=True)
class Sender:
    tenant_id: str
    partner: str


def event_id(sender: Sender, partner_event_id: str) -> uuid.UUID:
    return uuid.uuid5(
        INGESTION_NAMESPACE, f"{sender.tenant_id}\x1f{sender.partner}\x1f{partner_event_id}"
    )


def to_inbound(
    raw: Any, sender: Sender, now: datetime, *, max_age: timedelta = MAX_EVENT_AGE
) -> CloudEvent:
    """Validate a posted event and wrap it for ``crm.inbound`` (raises ``InvalidEvent``);
    ``occurred_at`` may lie up to ``max_age`` in the past."""
    if not isinstance(raw, dict):
        raise InvalidEvent("validation-failed", "An event is a JSON object.")
    _refuse_nul(raw)
    try:
        posted = PartnerEvent.model_validate(raw, extra="forbid")
    except ValidationError as error:
        raise _invalid(error, "") from error
    payload_type = ACTIVITIES.get(posted.type)
    if payload_type is None:
        known = ", ".join(ACTIVITIES)
        raise InvalidEvent(
            "unknown-event-type", f"Unknown type '{posted.type}'; use one of: {known}."
        )
    _check_occurred_at(posted.occurred_at, now, max_age)
    try:
        activity = payload_type.model_validate(posted.data, extra="forbid")
    except ValidationError as error:
        raise _invalid(error, "data.") from error
    _refuse_sealed(posted.customer, activity)
    activity = _latest(posted.type, activity)
    inbound = inbound_model(type(activity))(
        partner=sender.partner,
        partner_event_id=posted.id,
        customer=posted.customer,
        activity=activity,
    )
    identifier = event_id(sender, posted.id)
    event = new_event(
        inbound,
        source=f"/partners/{sender.partner}",
        tenant_id=sender.tenant_id,
        key=f"{posted.customer.source}:{posted.customer.external_id}",
        time=posted.occurred_at,
        event_id=identifier,
        correlation_id=str(identifier),
        partner=sender.partner,
    )
    _check_size(event)
    return event


def _refuse_sealed(customer: CustomerRef, activity: Payload) -> None:
    """``sealed`` is what the gateway makes of personal fields (``sealing``), never posted."""
    where = [
        name
        for name, part in (("customer.sealed", customer), ("data.sealed", activity))
        if isinstance(part, Personal) and part.sealed is not None
    ]
    if where:
        message = "is set by the gateway, never posted; send the fields themselves"
        raise InvalidEvent(
            "validation-failed",
            f"Fix the event: {', '.join(where)} {message}.",
            [{"field": w, "message": message} for w in where],
        )


def _latest(partner_type: str, activity: Payload) -> Payload:
    """The activity as the gateway writes it: a type revised since v1 (``REVISED``: its
    personal text sealed, so optional on the wire) goes out in its latest version."""
    payload = written(partner_type)
    if type(activity) is payload:
        return activity
    return payload.model_validate(activity.model_dump())


def _check_occurred_at(occurred_at: datetime, now: datetime, max_age: timedelta) -> None:
    if occurred_at > now + MAX_CLOCK_SKEW:
        message = "lies in the future; send UTC RFC 3339"
    elif occurred_at < now - max_age:
        message = f"lies more than {max_age.days} days in the past, beyond what is accepted"
    else:
        return
    raise InvalidEvent(
        "validation-failed",
        f"occurred_at {message}.",
        [{"field": "occurred_at", "message": message}],
    )


def _check_size(event: CloudEvent) -> None:
    size = len(encode(event))
    if size > MAX_ENVELOPE_BYTES:
        raise InvalidEvent(
            "event-too-large",
            f"The event takes {size} bytes once wrapped; at most {MAX_ENVELOPE_BYTES} bytes "
            f"({MAX_ENVELOPE_BYTES // 1024} KiB) are accepted. Shorten its texts or split "
            "its items across events.",
            status=413,
        )


def _refuse_nul(raw: dict[str, Any]) -> None:
    fields = _nul_fields(raw)
    if fields:
        message = "must not contain NUL characters (\\u0000)"
        raise InvalidEvent(
            "validation-failed",
            f"Fix the event: {', '.join(f[:200] for f in fields[:5])} {message}.",
            [{"field": f[:200], "message": message} for f in fields],
        )


def _nul_fields(raw: dict[str, Any]) -> list[str]:
    """The path of every string (or key) holding a NUL character; iterative, since a
    partner's JSON may nest deeper than Python's recursion limit."""
    found: list[str] = []
    pending: list[tuple[str, Any]] = [("", raw)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str) and NUL in value:
            found.append(path)
        elif isinstance(value, dict):
            for key, inner in value.items():
                label = str(key).replace(NUL, "\\u0000")
                where = f"{path}.{label}" if path else label
                found += [where] if NUL in str(key) else []
                pending.append((where, inner))
        elif isinstance(value, list):
            pending.extend((f"{path}.{index}", inner) for index, inner in enumerate(value))
    return sorted(found)


def whole_numbers(raw: Any) -> Any:
    """The posted JSON with every float that has no fractional part as an integer, in place:
    JSON Schema, the contract's language, reads 1299.0 as the integer 1299, while the payload
    models take integers only, so that a float amount (12.99) is never money. Iterative, like
    ``_nul_fields``."""
    if isinstance(raw, float):
        return _whole(raw)
    pending = [raw] if isinstance(raw, dict | list) else []
    while pending:
        node = pending.pop()
        entries = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(entries):
            if isinstance(value, float):
                node[key] = _whole(value)
            elif isinstance(value, dict | list):
                pending.append(value)
    return raw


def _whole(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) <= 2**63 else value


def is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/<name>+json``, parameters allowed, a charset
    only if UTF-8; no content type at all is read as JSON."""
    if content_type is None:
        return True
    media, *parameters = content_type.split(";")
    kind, _, subtype = media.strip().lower().partition("/")
    if kind != "application" or not (
        subtype == "json" or (subtype[:-5] and subtype.endswith("+json"))
    ):
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return False
    return True


def _invalid(error: ValidationError, prefix: str) -> InvalidEvent:
    errors = field_errors(error.errors(), prefix)
    return InvalidEvent("validation-failed", f"Fix the event: {summary(errors, 'event')}", errors)
