"""Feedback's HTTP API for surveys (reached through the gateway): the tenant's survey
definitions, a customer's open invitations and answers, the tenant's comments, and
the answer a customer posts with their invitation's token."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends

from services.feedback import answers, sealing, survey_views, surveys
from services.feedback.api import policy_of
from services.feedback.domain import tokens
from services.feedback.domain.surveys import OffScale
from services.feedback.resources import FeedbackRuntime
from shared.contracts import surveys as contract
from shared.cursors import decode_keyset
from shared.keyring import KeysUnavailable
from shared.problems import Problem
from shared.runtime import TenantDep, get_runtime

RuntimeDep = Annotated[FeedbackRuntime, Depends(get_runtime)]
router = APIRouter(prefix="/v1", tags=["surveys"])


@router.get("/feedback/surveys")
async def get_surveys(runtime: RuntimeDep, tenant: TenantDep) -> contract.Surveys:
    """The tenant's surveys (``stored`` false: the rule file's defaults)."""
    rules = (await policy_of(runtime, tenant)).invitations
    return await survey_views.surveys(runtime.db.engine, tenant, rules)


@router.put("/feedback/surveys")
async def put_surveys(
    runtime: RuntimeDep, tenant: TenantDep, body: contract.SurveySet
) -> contract.Surveys:
    """Replace the tenant's whole set of surveys; a kind left out is no longer asked."""
    await surveys.replace_surveys(runtime.db, tenant, body)
    return await get_surveys(runtime, tenant)


@router.get("/customers/{customer_id}/survey-invitations")
async def get_invitations(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> contract.Invitations:
    """The customer's open invitations, each with its answer token."""
    settings, now = runtime.settings, runtime.clock.now()
    rules = (await policy_of(runtime, tenant)).invitations
    return await survey_views.open_invitations(
        runtime.db.engine, tenant, customer_id, settings.answer_secret, rules, now
    )


@router.get("/customers/{customer_id}/survey-responses")
async def get_responses(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    limit: contract.ResponseLimit = 50,
    cursor: contract.ResponseCursor = None,
) -> contract.ResponsePage:
    """The customer's answers, the newest first."""
    after = decode_keyset(cursor) if cursor else None
    return await survey_views.responses_page(runtime.db.engine, tenant, customer_id, limit, after)


@router.get("/feedback/comments")
async def get_comments(
    runtime: RuntimeDep,
    tenant: TenantDep,
    q: contract.CommentSearch = None,
    survey: contract.SurveyFilter = None,
    score_max: contract.ScoreMax = None,
    limit: contract.ResponseLimit = 50,
    cursor: contract.ResponseCursor = None,
) -> contract.CommentPage:
    """The tenant's answers with a comment, the newest first, searched."""
    after = decode_keyset(cursor) if cursor else None
    wanted = (q, survey, score_max)
    return await survey_views.comments_page(runtime.db.engine, tenant, wanted, limit, after)


@router.post("/survey-responses", status_code=201)
async def post_response(
    runtime: RuntimeDep, tenant: TenantDep, body: contract.TokenAnswer
) -> contract.SurveyResponse:
    """A customer's answer to the invitation its token names: once, before it expires."""
    secret = runtime.settings.answer_secret
    if secret is None:
        raise Problem(503, "answers-unavailable", "No answer token key is configured.")
    answer = answers.TokenAnswer(tenant, body.answer_token, body.score, body.comment)
    try:
        config = await policy_of(runtime, tenant)
        kept = await answers.answer_by_token(
            runtime.db, secret, answer, config, runtime.resources.keys
        )
    except KeysUnavailable:
        raise sealing.keys_away() from None
    except tokens.ForgedToken:
        raise Problem(401, "invalid-answer-token", _FORGED) from None
    except tokens.ExpiredToken as expired:
        when = expired.claims.expires_at.isoformat()
        raise Problem(409, "invitation-expired", f"The invitation expired at {when}.") from None
    except answers.UnknownInvitation:
        raise Problem(401, "invalid-answer-token", _FORGED) from None
    except answers.NotOpen as closed:
        raise Problem(
            409, "invitation-closed",
            f"The invitation is {closed.invitation.status}: it takes one answer, before "
            "it expires.",
        ) from None  # fmt: skip
    except OffScale as off:
        raise Problem(
            422, "score-off-scale", f"Fix the score: {off}.",
            errors=[{"field": "body.score", "message": str(off)}],
        ) from None  # fmt: skip
    return contract.SurveyResponse.model_validate({**asdict(kept), "category": kept.category})


_FORGED = "The answer token is not one this service issued; use the link of the invitation."
