"""Ingestion rules: what a partner may post, and the event it becomes.

Validation happens here, at the edge, against the event registry, so nothing
malformed reaches Kafka. The event id is derived from (tenant, partner,
partner's event id): a retried post carries the same id, and every inbox
downstream drops it even if it slipped past the receipt table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shared.events import CloudEvent, new_event
from shared.events.activity import ACTIVITIES, CustomerRef, Inbound

INGESTION_NAMESPACE = uuid.UUID("6f1c3c52-8d5e-4a0c-9a51-2b7f4c1e0d11")
MAX_CLOCK_SKEW = timedelta(minutes=5)
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

    id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:/@#+-]+$")]
    type: str = Field(
        examples=list(ACTIVITIES),
        description="One of the partner event types; GET /v1/events/catalogue has each one's data",
    )
    occurred_at: Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)] = Field(
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


@dataclass(frozen=True)
class Sender:
    tenant_id: str
    partner: str


def event_id(sender: Sender, partner_event_id: str) -> uuid.UUID:
    return uuid.uuid5(
        INGESTION_NAMESPACE, f"{sender.tenant_id}\x1f{sender.partner}\x1f{partner_event_id}"
    )


def to_inbound(raw: Any, sender: Sender, now: datetime) -> CloudEvent:
    """Validate a posted event and wrap it for ``crm.inbound`` (raises ``InvalidEvent``)."""
    if not isinstance(raw, dict):
        raise InvalidEvent("validation-failed", "An event is a JSON object.")
    try:
        posted = PartnerEvent.model_validate(raw)
    except ValidationError as error:
        raise _invalid(error, "") from error
    payload_type = ACTIVITIES.get(posted.type)
    if payload_type is None:
        known = ", ".join(ACTIVITIES)
        raise InvalidEvent(
            "unknown-event-type", f"Unknown type '{posted.type}'; use one of: {known}."
        )
    if posted.occurred_at > now + MAX_CLOCK_SKEW:
        raise InvalidEvent(
            "validation-failed", "occurred_at lies in the future; send UTC RFC 3339."
        )
    try:
        activity = payload_type.model_validate(posted.data)
    except ValidationError as error:
        raise _invalid(error, "data.") from error
    inbound = Inbound[payload_type](  # type: ignore[valid-type]
        partner=sender.partner,
        partner_event_id=posted.id,
        customer=posted.customer,
        activity=activity,
    )
    identifier = event_id(sender, posted.id)
    return new_event(
        inbound,
        source=f"/partners/{sender.partner}",
        tenant_id=sender.tenant_id,
        key=f"{posted.customer.source}:{posted.customer.external_id}",
        time=posted.occurred_at,
        event_id=identifier,
        correlation_id=str(identifier),
        partner=sender.partner,
    )


def _invalid(error: ValidationError, prefix: str) -> InvalidEvent:
    errors = [
        {"field": prefix + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
        for e in error.errors()
    ]
    summary = "; ".join(f"{e['field'] or 'event'}: {e['message']}" for e in errors[:5])
    return InvalidEvent("validation-failed", f"Fix the event: {summary}", errors)
