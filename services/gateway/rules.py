"""Rules per tenant, forwarded to the service that applies them: the stage machine
(lifecycle), the loyalty programme (loyalty) and the feedback policy (feedback). A
tenant's admin reads the rules in force and replaces them by a new version, validated
as the installation's file is at start; every change is audited with its versions.
Before that, the admin may try a candidate on the tenant's history (a replay job)."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import Admin, UpstreamsDep, acting_key, failures
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from services.gateway.upstream import with_body
from shared.contracts.rules import (
    SERVICE_OF,
    RecordedReplay,
    RecordedRules,
    RuleKind,
    RuleReplay,
    Rules,
    RulesUpdate,
)

router = APIRouter(prefix="/v1/admin/rules", tags=["admin"])


@router.get("/{kind}", response_model=Rules, responses=failures(404))
async def get_rules(
    kind: RuleKind, request: Request, caller: Admin, upstreams: UpstreamsDep
) -> Response:
    """The tenant's rules of ``kind`` in force: its own latest version, or the
    installation's file (``source``, ``version`` 0)."""
    path = f"/v1/admin/rules/{kind}"
    return await upstreams.forward(SERVICE_OF[kind], path, caller.tenant_id, request)


@router.put("/{kind}", response_model=Rules, responses=failures(400, 404, 413))
async def put_rules(
    kind: RuleKind,
    body: RulesUpdate,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Replace the tenant's rules of ``kind`` (the whole TOML file); 422 ``invalid-rules``
    names each problem as the service would at start, and the rules in force stay. Every
    replica applies the new version from its next batch, without a restart."""
    recorded = RecordedRules(rules=body.rules, changed_by=acting_key(caller))
    forwarded = with_body(request, recorded.model_dump_json().encode())
    path = f"/v1/admin/rules/{kind}"
    async with audit.asking(
        runtime.db, caller, audit.Decision("rules.changed", f"rules:{kind}")
    ) as ask:
        answer = await upstreams.forward(SERVICE_OF[kind], path, caller.tenant_id, forwarded)
        if answer.status_code not in audit.ANSWERED:
            return answer
        now_in_force = json.loads(bytes(answer.body))
        decision = audit.Decision(
            "rules.changed",
            f"rules:{kind}",
            before={"version": now_in_force["previous_version"]},
            after={"version": now_in_force["version"]},
        )
        return await ask.recorded(answer, decision)


@router.post(
    "/{kind}/replays", response_model=RuleReplay, status_code=202,
    responses=failures(400, 404, 409, 413),
    openapi_extra=links(202, GetReplay=link(
        "/v1/admin/rules/{kind}/replays/{replay_id}", "get",
        kind="$request.path.kind", replay_id="$response.body#/id",
    )),
)  # fmt: skip
async def start_replay(
    kind: RuleKind,
    body: RulesUpdate,
    request: Request,
    caller: Admin,
    upstreams: UpstreamsDep,
    runtime: RuntimeDep,
) -> Response:
    """Try candidate rules of ``kind`` on the tenant's history, without switching to
    them: the history is folded into shadow databases under the rules in force and under
    the candidate, nothing live is touched and nothing published; ``GET`` the job for its
    progress, then the difference (customers per stage, points and tiers, invitations
    and escalations, a sample of customers who would change and why). 422
    ``invalid-rules`` names each problem as ``PUT`` would; 409 while a replay of the
    tenant's ``kind`` runs. Switching to the candidate is the separate ``PUT``."""
    recorded = RecordedReplay(rules=body.rules, requested_by=acting_key(caller))
    forwarded = with_body(request, recorded.model_dump_json().encode())
    path = f"/v1/admin/rules/{kind}/replays"
    async with audit.asking(
        runtime.db, caller, audit.Decision("rules.replayed", f"rules:{kind}")
    ) as ask:
        answer = await upstreams.forward(SERVICE_OF[kind], path, caller.tenant_id, forwarded)
        if answer.status_code not in audit.ANSWERED:
            return answer
        started = json.loads(bytes(answer.body))
        decision = audit.Decision(
            "rules.replayed", f"rules:{kind}", after={"replay": started["id"]}
        )
        return await ask.recorded(answer, decision)


@router.get("/{kind}/replays/{replay_id}", response_model=RuleReplay, responses=failures(404))
async def get_replay(
    kind: RuleKind, replay_id: uuid.UUID, request: Request, caller: Admin, upstreams: UpstreamsDep
) -> Response:
    """A replay job of the tenant's: its progress, then the difference (``diff``) or why
    it failed (``error``). Jobs live in the replica of the service that runs them and are
    forgotten at its restart (404: start the replay again)."""
    path = f"/v1/admin/rules/{kind}/replays/{replay_id}"
    return await upstreams.forward(SERVICE_OF[kind], path, caller.tenant_id, request)
