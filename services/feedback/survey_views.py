"""Feedback's reads of surveys: a tenant's definitions, a customer's open invitations
(each with its answer token, made again on every read: tokens are never stored), a
customer's answers page by page, and the tenant's comments, searched. Read-only
queries on the service's own tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from services.feedback import store
from services.feedback.domain import tokens
from services.feedback.domain.config import Invitations
from services.feedback.domain.definitions import SurveyDefinition, Surveys
from services.feedback.domain.invitations import SENT, Invitation
from services.feedback.tables import survey_invitation, survey_response
from shared.answer_tokens import AnswerClaims
from shared.contracts import surveys as contract
from shared.cursors import encode_keyset

Position = tuple[datetime, uuid.UUID]


async def surveys(engine: AsyncEngine, tenant_id: str, rules: Invitations) -> contract.Surveys:
    """The tenant's surveys: its own, and the rule file's defaults for the others."""
    async with engine.connect() as conn:
        found = (await store.surveys_of(conn, {tenant_id}, rules))[tenant_id]
    return contract.Surveys(surveys=[_definition_answer(d) for d in found.values()])


def _definition_answer(definition: SurveyDefinition) -> contract.StoredSurvey:
    return contract.StoredSurvey.model_validate(asdict(definition))


async def open_invitations(
    engine: AsyncEngine,
    tenant_id: str,
    customer_id: uuid.UUID,
    secret: bytes | None,
    rules: Invitations,
    now: datetime,
) -> contract.Invitations:
    """The customer's sent invitations still open now, the newest first."""
    i = survey_invitation.c
    query = (
        select(survey_invitation)
        .where(
            i.tenant_id == tenant_id,
            i.customer_id == customer_id,
            i.status == SENT,
            i.expires_at > now,
        )
        .order_by(i.invited_at.desc())
        .limit(50)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
        defined: Surveys = (await store.surveys_of(conn, {tenant_id}, rules))[tenant_id]
    return contract.Invitations(
        invitations=[_invitation_answer(store.invitation_of(r), defined, secret) for r in rows]
    )


def _invitation_answer(
    invitation: Invitation, defined: Surveys, secret: bytes | None
) -> contract.Invitation:
    expires_at, invited_at = invitation.expires_at, invitation.invited_at
    assert expires_at is not None and invited_at is not None  # a sent invitation has both
    token = None
    if secret is not None:
        claims = AnswerClaims(
            invitation.tenant_id, invitation.invitation_id, invitation.customer_id, expires_at
        )
        token = tokens.issue(secret, claims)
    definition = defined.get(invitation.survey)
    return contract.Invitation(
        invitation_id=invitation.invitation_id,
        survey=invitation.survey,
        occasion=invitation.occasion,
        channel=invitation.channel,
        invited_at=invited_at,
        expires_at=expires_at,
        questions=dict(definition.questions) if definition else {},
        answer_token=token,
    )


async def responses_page(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID, limit: int, after: Position | None
) -> contract.ResponsePage:
    """The customer's answers, the newest first, after the (responded_at, response_id)
    of a cursor."""
    r = survey_response.c
    query = select(survey_response).where(r.tenant_id == tenant_id, r.customer_id == customer_id)
    rows = await _newest_first(engine, query, limit, after)
    page = [store.response_of(row) for row in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return contract.ResponsePage(
        responses=[
            contract.SurveyResponse.model_validate({**asdict(p), "category": p.category})
            for p in page
        ],
        next_cursor=encode_keyset(last.responded_at, last.response_id) if last else None,
    )


async def comments_page(
    engine: AsyncEngine,
    tenant_id: str,
    wanted: tuple[str | None, str | None, int | None],
    limit: int,
    after: Position | None,
) -> contract.CommentPage:
    """The tenant's answers with a comment, the newest first: containing ``q`` (any
    case), to one survey, scored at most ``score_max``, as ``wanted`` says."""
    text, survey, score_max = wanted
    r = survey_response.c
    query = select(survey_response).where(
        r.tenant_id == tenant_id, r.comment.is_not(None), r.comment != ""
    )
    if text is not None:
        query = query.where(func.lower(r.comment).contains(text.lower(), autoescape=True))
    if survey is not None:
        query = query.where(r.survey == survey)
    if score_max is not None:
        query = query.where(r.score <= score_max)
    rows = await _newest_first(engine, query, limit, after)
    page = [store.response_of(row) for row in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return contract.CommentPage(
        comments=[contract.TenantComment.model_validate(asdict(p)) for p in page],
        next_cursor=encode_keyset(last.responded_at, last.response_id) if last else None,
    )


async def _newest_first(
    engine: AsyncEngine, query: Select[Any], limit: int, after: Position | None
) -> Sequence[RowMapping]:
    """The rows of ``query`` a page of answers holds, with one more to tell a next page."""
    r = survey_response.c
    if after:
        at, response_id = after
        query = query.where(
            or_(r.responded_at < at, and_(r.responded_at == at, r.response_id < response_id))
        )
    query = query.order_by(r.responded_at.desc(), r.response_id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        return (await conn.execute(query)).mappings().all()
