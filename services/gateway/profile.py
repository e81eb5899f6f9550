"""Merge candidates, forwarded to profile (which decides merges); ``admin`` only.

A decision is recorded with the API key that took it: the gateway, which knows the
caller, writes ``decided_by`` into the forwarded body, so a caller cannot name
someone else."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import Admin, UpstreamsDep

router = APIRouter(prefix="/v1/profile/merge-candidates", tags=["admin"])


class MergeDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="Why the operator decided so; kept with the decision"
    )


@router.get("")
async def list_merge_candidates(
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    status: Literal["open", "confirmed", "dismissed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Customers that share an e-mail or phone, for an operator to merge or keep apart,
    oldest first (``status`` filters; ``cursor`` from the previous page)."""
    path = "/v1/profile/merge-candidates"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.post("/{candidate_id}/confirm")
async def confirm_merge_candidate(
    candidate_id: uuid.UUID,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    decision: Annotated[MergeDecision | None, Body()] = None,
) -> Response:
    """Merge the two customers into the older one (``409`` if it was dismissed)."""
    path = f"/v1/profile/merge-candidates/{candidate_id}/confirm"
    forwarded = _with_decider(request, caller.key_id, decision)
    return await upstreams.forward("profile", path, caller.tenant_id, forwarded)


@router.post("/{candidate_id}/dismiss")
async def dismiss_merge_candidate(
    candidate_id: uuid.UUID,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    decision: Annotated[MergeDecision | None, Body()] = None,
) -> Response:
    """Keep the two customers apart for good (``409`` if it was confirmed)."""
    path = f"/v1/profile/merge-candidates/{candidate_id}/dismiss"
    forwarded = _with_decider(request, caller.key_id, decision)
    return await upstreams.forward("profile", path, caller.tenant_id, forwarded)


def _with_decider(request: Request, key_id: uuid.UUID, decision: MergeDecision | None) -> Request:
    """The request with a JSON body of the caller's reason and its API key as decider."""
    body = orjson.dumps(
        {"reason": decision.reason if decision else None, "decided_by": f"api-key:{key_id}"}
    )
    headers = [
        (name, value)
        for name, value in request.scope["headers"]
        if name not in (b"content-type", b"content-length")
    ] + [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({**request.scope, "headers": headers}, receive)
