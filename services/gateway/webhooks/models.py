"""Webhooks' bodies and answers (``api`` has the routes). Event types are checked
against the registry (``domain.TYPES``), never a copy; a secret appears only in the
answer that creates its subscription."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from services.gateway.webhooks.domain import EVERY_TYPE, TYPES, Status
from shared.cursors import KeysetCursor
from shared.events.bounds import Text

_CHOICES = [EVERY_TYPE, *TYPES]


def _registered(value: str) -> str:
    if value not in _CHOICES:
        raise ValueError(f"unknown event type; use '*' or one of the catalogue's: {TYPES[0]}, …")
    return value


WebhookEventType = Annotated[
    str,
    AfterValidator(_registered),
    WithJsonSchema({"type": "string", "enum": _CHOICES}),
]


class NewWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
        description="Where deliveries are posted (http or https). Its host must resolve to "
        "public addresses only, unless listed in CRM_WEBHOOK_ALLOWED_HOSTS",
        examples=["https://hooks.example.com/crm"],
    )
    event_types: list[WebhookEventType] = Field(
        min_length=1,
        max_length=len(_CHOICES),
        description="The event types to receive (GET /v1/events/catalogue); '*' for all",
        examples=[["crm.lifecycle.stage_changed.v1", "crm.loyalty.tier_changed.v1"]],
    )
    description: Text = Field(default="", max_length=500, examples=["Marketing automation"])


class Webhook(BaseModel):
    webhook_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    status: Literal["active", "disabled"]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why it was disabled, and what to do")
    last_success_at: datetime | None


class CreatedWebhook(Webhook):
    secret: str = Field(
        description="The Standard Webhooks signing secret (whsec_…), shown once: verify each "
        "delivery's webhook-signature with it"
    )


class WebhookPage(BaseModel):
    webhooks: list[Webhook]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class WebhookDelivery(BaseModel):
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Sent as webhook-id: the receiver's idempotency key")
    event_type: str
    status: Status
    attempts: int = Field(ge=0, description="Attempts of the current round")
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The receiver's last answer, if any")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    deliveries: list[WebhookDelivery]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


# The lists' queries.
WebhookLimit = Annotated[int, Query(ge=1, le=200)]
DeliveryLimit = Annotated[int, Query(ge=1, le=200)]
DeliveryStatus = Annotated[Status | None, Query(description="Only deliveries in this status")]
WebhookCursor = KeysetCursor
