"""The API-key administration's bodies and answers (``admin`` has the routes).

Scopes and event types are checked against their registries (``shared.auth``, the
event catalogue), never a stale copy; secrets appear only in the answers that create
them, and a listed key never shows its hash.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from shared.auth import GRANTABLE, SCOPES
from shared.events.activity import ACTIVITIES
from shared.events.bounds import WHOLE
from shared.instants import Instant

MAX_LIFETIME = timedelta(days=3653)
MAX_OVERLAP_SECONDS = 7 * 24 * 3600

Source = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
TenantId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]


def _member_of(what: str, allowed: Sequence[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what}; use one of: {', '.join(allowed)}")
        return value

    return check


# Checked against the registries (shared.auth, the event catalogue), never a stale copy.
ScopeName = Annotated[
    str,
    AfterValidator(_member_of("scope", sorted(SCOPES))),
    WithJsonSchema({"type": "string", "enum": sorted(SCOPES)}),
]
PartnerType = Annotated[
    str,
    AfterValidator(_member_of("event type", list(ACTIVITIES))),
    WithJsonSchema({"type": "string", "enum": list(ACTIVITIES)}),
]


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    partner: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    scopes: list[ScopeName] = Field(min_length=1, max_length=len(GRANTABLE) + 1)
    sources: list[Source] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="The customer.source values it may post for; default: [partner]",
    )
    event_types: list[PartnerType] | None = Field(
        default=None,
        min_length=1,
        max_length=len(ACTIVITIES),
        description="The partner event types it may post; default: all",
    )
    signed: StrictBool = Field(
        default=False,
        description="Require an HMAC signature on every write with this key "
        "(needs CRM_SIGNING_MASTER_KEY); the signing secret is shown once",
    )
    expires_at: Instant | None = Field(
        default=None,
        description="Refused from this instant on: after now, at most ten years ahead",
    )
    tenant_id: TenantId | None = Field(
        default=None,
        description="Another tenant (a new business or brand): needs the operator scope, "
        "which only the bootstrap key holds; default: the caller's",
    )


class CreatedApiKey(BaseModel):
    key_id: uuid.UUID
    api_key: str = Field(description="Shown once; only its hash is kept")
    tenant_id: str
    partner: str
    scopes: list[str]
    sources: list[str]
    event_types: list[str] | None
    expires_at: datetime | None
    signing_secret: str | None = Field(
        default=None, description="Shown once, for keys that sign their writes"
    )


class ApiKeyInfo(BaseModel):
    key_id: uuid.UUID
    name: str
    tenant_id: str
    partner: str
    scopes: list[str]
    sources: list[str]
    event_types: list[str] | None
    signed: bool
    bootstrap: bool
    created_at: datetime
    last_used_at: datetime | None = Field(description="At most about a minute stale")
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None
    previous_valid_until: datetime | None = Field(
        description="Until when the secret before the last rotation is still accepted"
    )


class ApiKeyPage(BaseModel):
    keys: list[ApiKeyInfo]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: Annotated[StrictInt, Field(ge=0, le=MAX_OVERLAP_SECONDS), WHOLE] = Field(
        default=86_400,
        description="How long the current secret keeps working beside the new one",
    )


class RotatedApiKey(BaseModel):
    key_id: uuid.UUID
    api_key: str = Field(description="The new secret, shown once")
    previous_valid_until: datetime
    signing_secret: str | None = Field(
        default=None, description="The new signing secret, for keys that sign their writes"
    )
