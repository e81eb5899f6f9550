"""A rule change tried on history as a job of the service (the gateway forwards
``POST /v1/admin/rules/<kind>/replays`` and ``GET …/replays/<id>`` here).

The candidate is validated as ``PUT`` validates it (422 naming each problem); the
replay (``services.replaying``) then runs in the background of the replica that took
the request, one at a time per tenant and kind (409 while one runs), and its progress
and difference are kept in that replica's memory: a job is an operator's question,
answered once, not state (a restart forgets it; ask again). Switching to the
candidate stays the separate ``PUT``.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections import OrderedDict
from typing import Any

import structlog
from fastapi import APIRouter, Request

from services import replaying
from shared.config import RuleFileError
from shared.contracts.rules import RecordedReplay, RuleKind, RuleReplay, RulesDiff
from shared.problems import Problem
from shared.runtime import Runtime, RuntimeDep, TenantDep

log = structlog.get_logger()
KEPT = 50  # finished jobs a replica remembers, the oldest forgotten first


class Replays:
    """The replay jobs of one service's replica: each job's view, and the tasks running."""

    def __init__(self) -> None:
        self.jobs: OrderedDict[uuid.UUID, tuple[str, RuleReplay]] = OrderedDict()
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    def running(self, tenant: str) -> RuleReplay | None:
        for owner, job in self.jobs.values():
            if owner == tenant and job.state == "running":
                return job
        return None

    def of(self, tenant: str, replay_id: uuid.UUID) -> RuleReplay | None:
        owner, job = self.jobs.get(replay_id, (None, None))
        return job if owner == tenant else None

    def keep(self, tenant: str, job: RuleReplay) -> None:
        self.jobs[job.id] = (tenant, job)
        finished = [i for i, (_, j) in self.jobs.items() if j.state != "running"]
        for forgotten in finished[: max(0, len(finished) - KEPT)]:
            del self.jobs[forgotten]


def replays_router(kind: RuleKind, name: str) -> APIRouter:
    """``POST /v1/admin/rules/<kind>/replays`` and ``GET …/replays/<id>`` of service
    ``name`` (whose ``services.<name>.replay`` says what its outcome is)."""
    router = APIRouter(prefix=f"/v1/admin/rules/{kind}/replays")

    @router.post("", response_model=RuleReplay, status_code=202)
    async def start(
        body: RecordedReplay, request: Request, runtime: RuntimeDep, tenant: TenantDep
    ) -> RuleReplay:
        """Validate the candidate (422 naming each problem) and start its replay (409 while
        one of the tenant's runs)."""
        replays = _replays_of(request, kind)
        try:
            _spec(name).rulebook_of(runtime.resources).validate(tenant, body.rules)
        except RuleFileError as invalid:
            raise Problem(422, "invalid-rules", str(invalid)) from invalid
        if (busy := replays.running(tenant)) is not None:
            raise Problem(
                409, "replay-running",
                f"Replay {busy.id} of these {kind} rules is running ({busy.progress}); "
                "wait for it to finish, then try again.",
            )  # fmt: skip
        now = runtime.clock.now()
        job = RuleReplay(
            id=uuid.uuid4(), kind=kind, state="running", progress="starting",
            started_at=now, requested_by=body.requested_by,
        )  # fmt: skip
        replays.keep(tenant, job)
        task = asyncio.create_task(_run(replays, name, runtime, tenant, body.rules, job.id))
        replays.tasks[job.id] = task
        task.add_done_callback(lambda _: replays.tasks.pop(job.id, None))
        return job

    @router.get("/{replay_id}", response_model=RuleReplay)
    async def progress(replay_id: uuid.UUID, request: Request, tenant: TenantDep) -> RuleReplay:
        """The job's progress, then its difference (404: no such replay of the tenant's
        on this replica, or one forgotten since)."""
        job = _replays_of(request, kind).of(tenant, replay_id)
        if job is None:
            raise Problem(
                404, "not-found",
                f"No {kind} rules replay {replay_id} of this tenant; start one with POST.",
            )  # fmt: skip
        return job

    return router


def _replays_of(request: Request, kind: str) -> Replays:
    """The replica's jobs of ``kind``, kept with its app (one app, one registry)."""
    state = request.app.state
    if not hasattr(state, "rule_replays"):
        state.rule_replays = {}
    registry: Replays = state.rule_replays.setdefault(kind, Replays())
    return registry


def _spec(name: str) -> replaying.Replayable:
    """What service ``name``'s replay measures (``services.<name>.replay``)."""
    spec: replaying.Replayable = importlib.import_module(f"services.{name}.replay").REPLAY
    return spec


async def _run(
    replays: Replays,
    name: str,
    runtime: Runtime[Any, Any],
    tenant: str,
    rules: str,
    replay_id: uuid.UUID,
) -> None:
    spec = _spec(name)
    phase = ""

    def progress(line: str) -> None:
        nonlocal phase
        phase = line if line.endswith(":") else phase
        shown = line if line == phase else f"{phase} {line}".strip()
        job = replays.jobs[replay_id][1]
        replays.keep(tenant, job.model_copy(update={"progress": shown}))

    try:
        read = replaying.reader_of(runtime.bus, runtime.settings, progress)
        diff = await replaying.replay(
            spec, runtime, replaying.Candidate(rules, tenant), read, progress
        )
        done = {"state": "done", "progress": "done", "diff": RulesDiff.model_validate(diff)}
    except Exception as failure:  # a job's failure is its answer, never the replica's
        log.exception("rules replay failed", kind=spec.kind, replay=str(replay_id))
        done = {
            "state": "failed",
            "error": f"The replay stopped ({type(failure).__name__}); the {name} service's "
            "log has the details. Start it again once the cause is fixed.",
        }
    job = replays.jobs[replay_id][1]
    replays.keep(tenant, job.model_copy(update={**done, "finished_at": runtime.clock.now()}))
