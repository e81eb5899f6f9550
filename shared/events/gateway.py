"""Events the gateway publishes on ``crm.gateway``: about a tenant's integrations, not
about a customer (they carry no subject)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.events.bounds import Id, Note
from shared.events.payload import Payload


class WebhookDisabled(Payload):
    """A webhook subscription was disabled: its receiver failed every attempt of a
    delivery and accepted nothing since; no more deliveries go to it until it is enabled."""

    webhook_id: Id
    host: Note = Field(description="The receiver's host (never the URL: it may hold a token)")
    reason: Note = Field(description="What failed, and what to do")
    disabled_at: AwareDatetime
