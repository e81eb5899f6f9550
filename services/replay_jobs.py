"""A rule change tried on history as a job of the service (the gateway forwards
``POST /v1/admin/rules/<kind>/replays`` and ``GET …/replays/<id>`` here).

The candidate is validated as ``PUT`` validates it (422 naming each problem); the
replay (``services.replaying``) then runs in the background of the replica that took
the request. The job itself is a row of the service's ``rule_replay`` table
(``shared.replay_store``), so any replica answers ``GET``, one job per tenant and kind
runs across all replicas (409 while one runs, enforced by the database), and a job
whose replica stopped reads as failed once its heartbeat is a minute old. The running
replica writes the progress with the heartbeat about once a second (never per event),
the difference or the error at the end. Switching to the candidate stays the separate
``PUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request

from services import replaying
from shared.config import RuleFileError
from shared.contracts.rules import RecordedReplay, RuleKind, RuleReplay, RulesDiff
from shared.problems import Problem
from shared.replay_store import Busy, ReplayStore
from shared.runtime import Runtime, RuntimeDep, TenantDep

log = structlog.get_logger()
BEAT_SECONDS = 1.0  # how often the running replica writes progress and heartbeat


def replays_router(kind: RuleKind, name: str) -> APIRouter:
    """``POST /v1/admin/rules/<kind>/replays`` and ``GET …/replays/<id>`` of service
    ``name`` (whose ``services.<name>.replay`` says what its outcome is, and whose
    ``services.<name>.tables.rule_replay`` keeps the jobs)."""
    router = APIRouter(prefix=f"/v1/admin/rules/{kind}/replays")

    @router.post("", response_model=RuleReplay, status_code=202)
    async def start(
        body: RecordedReplay, request: Request, runtime: RuntimeDep, tenant: TenantDep
    ) -> RuleReplay:
        """Validate the candidate (422 naming each problem) and start its replay (409 while
        one of the tenant's runs, on any replica)."""
        try:
            _spec(name).rulebook_of(runtime.resources).validate(tenant, body.rules)
        except RuleFileError as invalid:
            raise Problem(422, "invalid-rules", str(invalid)) from invalid
        job = RuleReplay(
            id=uuid.uuid4(), kind=kind, state="running", progress="starting",
            started_at=runtime.clock.now(), requested_by=body.requested_by,
        )  # fmt: skip
        store = _store(name, runtime)
        try:
            await store.start(tenant, job)
        except Busy as busy:
            where = f"Replay {busy.job.id} ({busy.job.progress})" if busy.job else "A replay"
            raise Problem(
                409, "replay-running",
                f"{where} of these {kind} rules is running; wait for it to finish, then try again.",
            ) from busy  # fmt: skip
        _keep(request, asyncio.create_task(_run(store, name, runtime, tenant, body.rules, job)))
        return job

    @router.get("/{replay_id}", response_model=RuleReplay)
    async def progress(replay_id: uuid.UUID, runtime: RuntimeDep, tenant: TenantDep) -> RuleReplay:
        """The job's progress, then its difference, from whichever replica runs it (404: no
        such replay of the tenant's, or one pruned since)."""
        job = await _store(name, runtime).read(tenant, replay_id)
        if job is None:
            raise Problem(
                404, "not-found",
                f"No {kind} rules replay {replay_id} of this tenant; start one with POST.",
            )  # fmt: skip
        return job

    return router


def _store(name: str, runtime: Runtime[Any, Any]) -> ReplayStore:
    """Service ``name``'s jobs, in its ``rule_replay`` table."""
    table = importlib.import_module(f"services.{name}.tables").rule_replay
    return ReplayStore(table, runtime.db)


def _keep(request: Request, task: asyncio.Task[None]) -> None:
    """Hold the job's task until it ends (the loop keeps only a weak reference)."""
    state = request.app.state
    if not hasattr(state, "rule_replay_tasks"):
        state.rule_replay_tasks = set()
    tasks: set[asyncio.Task[None]] = state.rule_replay_tasks
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _spec(name: str) -> replaying.Replayable:
    """What service ``name``'s replay measures (``services.<name>.replay``)."""
    spec: replaying.Replayable = importlib.import_module(f"services.{name}.replay").REPLAY
    return spec


async def _run(
    store: ReplayStore,
    name: str,
    runtime: Runtime[Any, Any],
    tenant: str,
    rules: str,
    job: RuleReplay,
) -> None:
    """Run the replay, its progress beaten into the row, and store how it ended."""
    spec = _spec(name)
    phase, shown = "", [job.progress]

    def progress(line: str) -> None:
        nonlocal phase
        phase = line if line.endswith(":") else phase
        shown[0] = line if line == phase else f"{phase} {line}".strip()

    beating = asyncio.create_task(_beat(store, runtime, job.id, shown))
    try:
        read = replaying.reader_of(runtime.bus, runtime.settings, progress)
        diff = await replaying.replay(
            spec, runtime, replaying.Candidate(rules, tenant), read, progress
        )
        done: dict[str, Any] = {
            "state": "done", "progress": "done", "diff": RulesDiff.model_validate(diff)
        }  # fmt: skip
    except Exception as failure:  # a job's failure is its answer, never the replica's
        log.exception("rules replay failed", kind=spec.kind, replay=str(job.id))
        done = {
            "state": "failed", "progress": shown[0],
            "error": f"The replay stopped ({type(failure).__name__}); the {name} service's "
            "log has the details. Start it again once the cause is fixed.",
        }  # fmt: skip
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    ended = job.model_copy(update={**done, "finished_at": runtime.clock.now()})
    try:
        await store.finish(tenant, ended)
    except Exception:  # its heartbeat stops: the job reads as failed within a minute
        log.exception("rules replay end not stored", kind=spec.kind, replay=str(job.id))


async def _beat(
    store: ReplayStore, runtime: Runtime[Any, Any], replay_id: uuid.UUID, shown: list[str]
) -> None:
    """Write the latest progress and a heartbeat about once a second while the job runs
    (a failed write is retried at the next beat: the heartbeat's bound is a minute)."""
    while True:
        await asyncio.sleep(BEAT_SECONDS)
        try:
            await store.beat(replay_id, shown[0], runtime.clock.now())
        except Exception:
            log.warning("rules replay heartbeat not stored", replay=str(replay_id))
