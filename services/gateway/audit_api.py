"""``GET /v1/audit``: the tenant's audit log, newest first, filtered by target, actor and
time (scope ``audit:read``, which admin keys hold). There is no route that changes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.gateway import audit
from services.gateway.auth import Auditor, failures
from services.gateway.runtime import RuntimeDep
from shared.contracts.query import Id
from shared.cursors import KeysetCursor, decode_keyset, encode_keyset
from shared.instants import Instant
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["admin"])

TARGET_PATTERN = r"^[a-z_]{1,40}(:[A-Za-z0-9_.:/@#+-]{1,250})?$"
AuditTarget = Annotated[
    str | None,
    Query(
        max_length=300,
        pattern=TARGET_PATTERN,
        description="What the decisions concern, as entries name it: customer:<id>, "
        "api_key:<id>, webhook:<id>, rules:loyalty, …",
        examples=["customer:7c9e6679-7425-40de-944b-e07fc1f90ae7"],
    ),
]
AuditActor = Annotated[Id | None, Query(description="The deciding API key's id (key_id)")]
AuditStart = Annotated[Instant | None, Query(alias="from", description="Start of [from, to)")]
AuditEnd = Annotated[Instant | None, Query(alias="to", description="End of [from, to)")]
AuditLimit = Annotated[int, Query(ge=1, le=200)]


class AuditEntry(BaseModel):
    entry_id: uuid.UUID
    tenant_id: str
    at: datetime
    actor_key_id: uuid.UUID = Field(description="The API key that took the decision")
    actor_partner: str = Field(description="That key's partner")
    action: str = Field(description="What was decided", examples=["api_key.revoked"])
    target: str = Field(description="What it concerns", examples=["api_key:7c9e6679-…"])
    request_id: str | None = Field(description="X-Request-Id of the request that decided")
    change: dict[str, Any] = Field(
        description="before and after where they apply; what was asked of a service"
    )


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


@router.get("/audit", responses=failures())
async def get_audit(
    runtime: RuntimeDep,
    caller: Auditor,
    target: AuditTarget = None,
    actor: AuditActor = None,
    start: AuditStart = None,
    end: AuditEnd = None,
    limit: AuditLimit = 50,
    cursor: KeysetCursor = None,
) -> AuditPage:
    """Every decision taken through the API in the caller's tenant (keys, redemptions,
    consent, the desk, webhooks, rules, sweeps, model fits, …), newest first; 422 if
    ``from`` lies after ``to``. Append-only: entries are never changed or removed."""
    if start is not None and end is not None and start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    query = audit.Query(
        caller.tenant_id, target, actor, start, end, decode_keyset(cursor) if cursor else None
    )
    async with runtime.db.engine.connect() as conn:
        rows = await audit.entries(conn, query, limit + 1)
    page = [AuditEntry.model_validate(row, from_attributes=True) for row in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return AuditPage(
        entries=page, next_cursor=encode_keyset(last.at, last.entry_id) if last else None
    )
