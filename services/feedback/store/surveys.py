"""Survey definitions, invitations and responses, read and written a batch at a time."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback.domain.config import Invitations
from services.feedback.domain.definitions import SurveyDefinition, Surveys, effective
from services.feedback.domain.invitations import SCHEDULED, SENT, Invitation, Latest
from services.feedback.domain.surveys import Response
from services.feedback.store.rows import due, invitation_of, locked, write_back
from services.feedback.tables import survey_definition, survey_invitation, survey_response
from shared.db import insert_ignoring_conflicts, keys_in, upsert
from shared.events.activity import SurveyKind

Key = tuple[str, uuid.UUID]  # (tenant, customer)
INVITATION_CHANGES = (
    "status", "invited_at", "expires_at", "answered_at", "response_id", "channel", "suppressed",
)  # fmt: skip


# Definitions


async def surveys_of(
    conn: AsyncConnection, tenants: Collection[str], rules: Invitations
) -> dict[str, Surveys]:
    """Each tenant's surveys: the ones it stored, the rule file's defaults for the others."""
    d = survey_definition.c
    stored: dict[str, dict[SurveyKind, SurveyDefinition]] = {t: {} for t in tenants}
    if tenants:
        rows = await conn.execute(select(d.tenant_id, d.definition).where(d.tenant_id.in_(tenants)))
        for tenant, document in rows:
            definition = definition_of(document)
            stored[tenant][definition.survey] = definition
    return {tenant: effective(rules, own) for tenant, own in stored.items()}


async def save_surveys(
    conn: AsyncConnection, tenant: str, surveys: Mapping[SurveyKind, SurveyDefinition], at: datetime
) -> None:
    """Store the tenant's whole set of surveys."""
    rows = [
        {"tenant_id": tenant, "survey": kind, "definition": document_of(d), "updated_at": at}
        for kind, d in surveys.items()
    ]
    await upsert(conn, survey_definition, rows, key=["tenant_id", "survey"])


def document_of(definition: SurveyDefinition) -> dict[str, Any]:
    """A definition as the JSON document it is stored as."""
    document = asdict(definition)
    document.pop("stored")
    return document


def definition_of(document: Mapping[str, Any]) -> SurveyDefinition:
    """A stored JSON document as a definition."""
    return SurveyDefinition(
        survey=document["survey"],
        enabled=bool(document["enabled"]),
        questions=dict(document["questions"]),
        triggers=tuple(document["triggers"]),
        stages=tuple(document["stages"]),
        delay_hours=float(document["delay_hours"]),
        every_days=int(document["every_days"]),
        channels=tuple(document["channels"]),
        expires_after_days=int(document["expires_after_days"]),
        stored=True,
    )


# Responses


async def add_responses(conn: AsyncConnection, responses: Sequence[Response]) -> None:
    """Insert the responses; one recorded before (the same id) is left alone."""
    await insert_ignoring_conflicts(conn, survey_response, [asdict(r) for r in responses])


# Invitations


async def add_invitations(conn: AsyncConnection, invitations: Sequence[Invitation]) -> None:
    """Insert the scheduled invitations; one scheduled before (the same id) is left alone."""
    await insert_ignoring_conflicts(conn, survey_invitation, [asdict(i) for i in invitations])


async def latest_invitations(conn: AsyncConnection, keys: Collection[Key]) -> Latest:
    """Each customer's latest invitation due time per survey and occasion, whatever its
    status: an invitation sent, answered, lapsed or suppressed still counts against the
    throttle."""
    if not keys:
        return {}
    inv = survey_invitation.c
    rows = await conn.execute(
        select(inv.tenant_id, inv.customer_id, inv.survey, inv.occasion, func.max(inv.due_at))
        .where(keys_in(conn, [inv.tenant_id, inv.customer_id], keys))
        .group_by(inv.tenant_id, inv.customer_id, inv.survey, inv.occasion)
    )
    return {((t, customer), survey, kind): at for t, customer, survey, kind, at in rows}


async def sent_invitations(
    conn: AsyncConnection, wanted: Collection[tuple[str, uuid.UUID, str]]
) -> list[Invitation]:
    """The sent (still open) invitations of these (tenant, customer, survey), latest
    first, locked."""
    if not wanted:
        return []
    inv = survey_invitation.c
    query = (
        select(survey_invitation)
        .where(
            keys_in(conn, [inv.tenant_id, inv.customer_id, inv.survey], wanted), inv.status == SENT
        )
        .order_by(inv.invited_at.desc())
    )
    return [invitation_of(r) for r in await locked(conn, query)]


async def lock_invitation(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    """The customer's invitation of this id in this tenant, locked, or None."""
    inv = survey_invitation.c
    query = select(survey_invitation).where(
        inv.tenant_id == tenant_id,
        inv.customer_id == customer_id,
        inv.invitation_id == invitation_id,
    )
    found = await locked(conn, query)
    return invitation_of(found[0]) if found else None


async def due_invitations(
    conn: AsyncConnection, now: datetime, limit: int, tenant: str | None
) -> list[Invitation]:
    """Scheduled invitations due to be sent, the longest due first."""
    inv = survey_invitation.c
    query = (
        select(survey_invitation)
        .where(inv.status == SCHEDULED, inv.due_at <= now)
        .order_by(inv.due_at)
        .limit(limit)
    )
    return [invitation_of(r) for r in await due(conn, query, survey_invitation, tenant)]


async def lapsing_invitations(
    conn: AsyncConnection, now: datetime, limit: int, tenant: str | None
) -> list[Invitation]:
    """Sent invitations nobody answered before they expired."""
    inv = survey_invitation.c
    query = select(survey_invitation).where(inv.status == SENT, inv.expires_at <= now).limit(limit)
    return [invitation_of(r) for r in await due(conn, query, survey_invitation, tenant)]


async def save_invitations(conn: AsyncConnection, changed: Sequence[Invitation]) -> None:
    """Write back the status, sending, expiry, answer and suppression of these invitations."""
    await write_back(
        conn, survey_invitation, "invitation_id", INVITATION_CHANGES, map(asdict, changed)
    )
