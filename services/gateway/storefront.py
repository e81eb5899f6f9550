"""A shop front in a browser: publishable keys, safe to hand to a page.

A server holding ``storefront:sessions`` mints a publishable key (``crm_pk_…``) for one
signed-in shopper: bound to that customer reference, short-lived (an hour by default,
a day at most), holding the ``storefront`` scope alone, which no admin can grant. The
key reaches only the routes below, each acting on its own customer (no route takes a
customer id, so there is no other customer to name), and every other route answers
403: it records engagement and survey answers for its customer and reads that
customer's loyalty and open survey invitations, nothing else. Its events go through
ingestion like a partner's, limited to those two types and its customer's source.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway import audit, handlers, ingestion, keys
from services.gateway.api import INGESTION_FAILURES, EventAccepted, _problem, seal_events
from services.gateway.auth import UpstreamsDep, authorize_event, failures, require
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import Upstreams
from shared.auth import STOREFRONT
from shared.contracts.loyalty import LoyaltyAccount
from shared.contracts.surveys import Invitations
from shared.events.bounds import Label, LongText, Ref
from shared.instants import Instant
from shared.problems import Problem

router = APIRouter(prefix="/v1/storefront", tags=["storefront"])
SESSIONS = "storefront:sessions"
TYPES = ("engagement.recorded", "survey.responded")
Minter = Annotated[keys.Principal, Depends(require(SESSIONS))]
Shopper = Annotated[keys.Principal, Depends(require(STOREFRONT))]
OwnId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Your id for it: a repeat is answered as a duplicate",
        examples=["view-8841"],
    ),
]


class ShopperRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    external_id: Ref


class NewSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: ShopperRef = Field(description="The signed-in shopper, as your system knows them")
    ttl_seconds: int = Field(default=3600, ge=60, le=86400, description="The key's lifetime")


class Session(BaseModel):
    key_id: uuid.UUID = Field(description="Revoke early with DELETE /v1/admin/api-keys/{id}")
    publishable_key: str = Field(description="crm_pk_…: give it to this shopper's page only")
    customer: ShopperRef
    expires_at: datetime


class Engagement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: OwnId
    occurred_at: Instant
    kind: Literal["visit", "inquiry", "email_open", "app_open", "cart", "trial"]
    channel: Label = Field(examples=["web"])


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: OwnId
    occurred_at: Instant
    comment: LongText | None = None


class NpsAnswer(_Answer):
    survey: Literal["nps"]
    score: int = Field(ge=0, le=10)


class CsatAnswer(_Answer):
    survey: Literal["csat"]
    score: int = Field(ge=1, le=5)


class CesAnswer(_Answer):
    survey: Literal["ces"]
    score: int = Field(ge=1, le=7)


SurveyAnswer = Annotated[NpsAnswer | CsatAnswer | CesAnswer, Field(discriminator="survey")]


@router.post("/sessions", status_code=201, responses=failures(400, 413))
async def create_session(body: NewSession, runtime: RuntimeDep, caller: Minter) -> Session:
    """Mint a publishable key for one shopper's browser session (shown once)."""
    source = body.customer.source
    if not caller.operator and source not in caller.sources:
        raise Problem(403, "source-not-allowed", f"This API key may not act for source '{source}'.")
    now = runtime.clock.now()
    expires_at = now + timedelta(seconds=body.ttl_seconds)
    spec = keys.KeySpec(
        caller.tenant_id, caller.partner, "storefront session", frozenset({STOREFRONT}),
        (source,), TYPES, expires_at=expires_at,
    )  # fmt: skip
    bound = (source, body.customer.external_id)
    key_id, secret = await keys.create_key(runtime.db, spec, now, customer=bound)
    created = {"kind": "publishable", "source": source, "expires_at": expires_at}
    await audit.record(
        runtime.db, caller, audit.Decision("api_key.created", f"api_key:{key_id}", after=created)
    )
    return Session(
        key_id=key_id, publishable_key=secret, customer=body.customer, expires_at=expires_at
    )


@router.post("/engagements", status_code=202, responses=INGESTION_FAILURES)
async def record_engagement(
    body: Engagement, runtime: RuntimeDep, caller: Shopper
) -> EventAccepted:
    """Record the shopper's engagement (a visit, a cart, …) as engagement.recorded."""
    data = {"kind": body.kind, "channel": body.channel}
    return await _accept(runtime, caller, "engagement.recorded", body.id, body.occurred_at, data)


@router.post("/surveys", status_code=202, responses=INGESTION_FAILURES)
async def answer_survey(body: SurveyAnswer, runtime: RuntimeDep, caller: Shopper) -> EventAccepted:
    """Record the shopper's answer to a survey as survey.responded (score on its scale)."""
    data = {"survey": body.survey, "score": body.score, "comment": body.comment}
    return await _accept(runtime, caller, "survey.responded", body.id, body.occurred_at, data)


@router.get("/loyalty", response_model=LoyaltyAccount, responses=failures(404))
async def get_my_loyalty(caller: Shopper, upstreams: UpstreamsDep) -> Response:
    """The shopper's own tier, points and next expiry."""
    return await _own(caller, upstreams, "loyalty", "/loyalty")


@router.get("/invitations", response_model=Invitations, responses=failures(404))
async def get_my_invitations(caller: Shopper, upstreams: UpstreamsDep) -> Response:
    """The shopper's open survey invitations, each with the token its answer is posted
    with (``POST /v1/survey-responses``)."""
    return await _own(caller, upstreams, "feedback", "/survey-invitations")


async def _own(caller: keys.Principal, upstreams: Upstreams, service: str, read: str) -> Response:
    """``read`` of the key's own customer at ``service`` (404 until profile knows them)."""
    source, external_id = _bound(caller)
    params = {"source": source, "external_id": external_id}
    found = await upstreams.get("profile", "/v1/customers/lookup", caller.tenant_id, params)
    if found.status_code != 200:
        return _relayed(found)
    path = f"/v1/customers/{found.json()['customer_id']}{read}"
    return _relayed(await upstreams.get(service, path, caller.tenant_id, {}))


def _relayed(answer: Any) -> Response:
    media = answer.headers.get("content-type", "application/json")
    return Response(answer.content, answer.status_code, media_type=media)


def _bound(caller: keys.Principal) -> tuple[str, str]:
    if caller.customer is None:  # a secret key given the scope by hand: none can be
        raise Problem(403, "not-a-storefront-key", "Use a publishable key from /sessions.")
    return caller.customer


async def _accept(
    runtime: RuntimeDep,
    caller: keys.Principal,
    partner_type: str,
    own_id: str,
    occurred_at: datetime,
    data: dict[str, Any],
) -> EventAccepted:
    """The event, for the key's own customer, through ingestion as a partner's would go."""
    source, external_id = _bound(caller)
    raw = {
        "id": f"sf-{caller.key_id.hex}-{own_id}",
        "type": partner_type,
        "occurred_at": occurred_at.isoformat(),
        "customer": {"source": source, "external_id": external_id},
        "data": {k: v for k, v in data.items() if v is not None},
    }
    sender = ingestion.Sender(caller.tenant_id, caller.partner)
    max_age = timedelta(days=runtime.settings.max_event_age_days)
    try:
        event = ingestion.to_inbound(raw, sender, runtime.clock.now(), max_age=max_age)
        authorize_event(caller, event)
    except ingestion.InvalidEvent as invalid:
        raise _problem(invalid) from invalid
    [event] = await seal_events(runtime, [event])
    fresh = await handlers.accept_events(runtime.db, sender, [event])
    return EventAccepted(event_id=event.id, status="accepted" if event.id in fresh else "duplicate")
