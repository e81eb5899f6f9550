"""Survey routes, forwarded to feedback: the tenant's survey definitions (``admin`` to
change them), a customer's open invitations and answers, the tenant's comments, and
the answer a customer posts with their invitation's token.

That last route is public: its token is its credential. The gateway reads the tenant
from the token's claims to know where to forward it (feedback checks the signature
and refuses a forged or altered one, 401), and counts every refused token against the
client's address like a failed authentication, so guessing tokens is slowed down."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import Admin, Reader, UpstreamsDep, failures
from services.gateway.ratelimit import retry_after
from services.gateway.runtime import RuntimeDep
from shared import answer_tokens
from shared.contracts import surveys as contract
from shared.contracts.errors import problem_responses
from shared.contracts.query import Id
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["surveys"])
ANSWER_FAILURES = problem_responses(400, 401, 409, 413, 422, 429, 503)
# A refused token's challenge: the answer token is this route's only credential.
CHALLENGE = {"WWW-Authenticate": 'AnswerToken realm="crm"'}
TENANT = re.compile(r"[a-z0-9_-]{1,64}")  # as tenants are named (key_models.TenantId)


@router.get("/feedback/surveys", response_model=contract.Surveys, responses=failures())
async def get_surveys(request: Request, caller: Reader, upstreams: UpstreamsDep) -> Response:
    """The tenant's NPS, CSAT and CES surveys: questions by language, triggers, delay,
    frequency, channels and expiry (``stored`` false: the defaults of the rule file)."""
    return await upstreams.forward("feedback", "/v1/feedback/surveys", caller.tenant_id, request)


@router.put("/feedback/surveys", response_model=contract.Surveys, responses=failures(400, 413))
async def put_surveys(
    body: contract.SurveySet,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Replace the tenant's whole set of surveys; a kind left out is no longer asked."""
    decision = audit.Decision("surveys.set", "surveys", after=body)
    return await audit.forwarded(
        runtime.db,
        caller,
        decision,
        lambda: upstreams.forward("feedback", "/v1/feedback/surveys", caller.tenant_id, request),
    )


@router.get(
    "/customers/{customer_id}/survey-invitations",
    response_model=contract.Invitations,
    responses=failures(404),
)
async def get_invitations(
    customer_id: Id, request: Request, caller: Reader, upstreams: UpstreamsDep
) -> Response:
    """The customer's open invitations, each with the signed ``answer_token`` its answer
    is posted with, valid until the invitation expires; 404 once the customer is erased."""
    path = f"/v1/customers/{customer_id}/survey-invitations"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


@router.get(
    "/customers/{customer_id}/survey-responses",
    response_model=contract.ResponsePage,
    responses=failures(404),
)
async def get_responses(
    customer_id: Id,
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    limit: contract.ResponseLimit = 50,
    cursor: contract.ResponseCursor = None,
) -> Response:
    """The customer's answers (score, comment, channel, survey, invitation), newest first;
    404 once the customer is erased."""
    path = f"/v1/customers/{customer_id}/survey-responses"
    return await upstreams.forward("feedback", path, caller.tenant_id, request)


@router.get("/feedback/comments", response_model=contract.CommentPage, responses=failures())
async def get_comments(
    request: Request,
    caller: Reader,
    upstreams: UpstreamsDep,
    q: contract.CommentSearch = None,
    survey: contract.SurveyFilter = None,
    score_max: contract.ScoreMax = None,
    limit: contract.ResponseLimit = 50,
    cursor: contract.ResponseCursor = None,
) -> Response:
    """The tenant's answers with a comment, newest first: containing ``q`` (any case),
    to one ``survey``, scored at most ``score_max``."""
    return await upstreams.forward("feedback", "/v1/feedback/comments", caller.tenant_id, request)


@router.post(
    "/survey-responses",
    status_code=201,
    response_model=contract.SurveyResponse,
    responses=ANSWER_FAILURES,
)
async def post_response(
    body: contract.TokenAnswer, request: Request, runtime: RuntimeDep, upstreams: UpstreamsDep
) -> Response:
    """A customer's answer to the invitation its ``answer_token`` names (no API key:
    the token is the credential): once per invitation, before it expires (409 after
    either), on the survey's scale (422 off it); a forged token is 401."""
    address = request.client.host if request.client else "unknown"
    limiter = runtime.resources.auth_failures
    wait = limiter.wait(address)
    if wait:
        raise Problem(
            429, "too-many-failed-authentications",
            "Too many refused answer tokens from this address; retry after the delay.",
            headers={"Retry-After": retry_after(wait)},
        )  # fmt: skip
    presented = answer_tokens.split(body.answer_token)
    if presented is None or not TENANT.fullmatch(presented.claims.tenant_id):
        limiter.acquire(address)
        raise Problem(
            401, "invalid-answer-token",
            "The answer token is not one this service issued; use the link of the invitation.",
            headers=CHALLENGE,
        )  # fmt: skip
    tenant = presented.claims.tenant_id
    answer = await upstreams.forward("feedback", "/v1/survey-responses", tenant, request)
    if answer.status_code == 401:
        limiter.acquire(address)
        answer.headers.update(CHALLENGE)
    return answer
