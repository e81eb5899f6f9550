"""Due-time work, the same way in every service: rows that fall due are taken a batch
at a time under ``FOR UPDATE SKIP LOCKED`` (so replicas never do one row twice), batch
after batch until nothing more is due now; the same sweep runs in the background on
a period and, for a tenant's admin or the operator, behind ``POST /v1/<area>/sweep``.

A service writes one function that sweeps one batch and says what it did
(``Swept``); ``drain`` repeats it, ``periodic`` runs it as a job, ``sweep_router``
answers it over HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter
from pydantic import BaseModel

from shared.contracts.sweeps import AllTenants
from shared.jobs import Periodic
from shared.runtime import Runtime, RuntimeDep, TenantDep

log = structlog.get_logger()


@dataclass(frozen=True)
class Swept:
    """What a sweep did, counted by kind (customers moved; invitations sent; …), and
    whether its batch was full, so that more may be due."""

    counts: Mapping[str, int] = field(default_factory=dict)
    more: bool = False

    def __add__(self, other: Swept) -> Swept:
        kinds = {*self.counts, *other.counts}
        total = {k: self.counts.get(k, 0) + other.counts.get(k, 0) for k in kinds}
        return Swept(total, other.more)

    @property
    def anything(self) -> bool:
        return any(self.counts.values())


async def drain(batch: Callable[[], Awaitable[Swept]]) -> Swept:
    """Sweep batch after batch until one says nothing more is due; the counts of all."""
    total = Swept()
    while True:
        swept = await batch()
        total += swept
        if not swept.more:
            return Swept(total.counts)


def periodic(name: str, seconds: float, sweep: Callable[[], Awaitable[Swept]]) -> Periodic:
    """The background sweep, every ``seconds``, logged when it did anything."""

    async def once() -> None:
        swept = await sweep()
        if swept.anything:
            log.info("swept", job=name, **swept.counts)

    return Periodic(name, seconds, once)


# A service's sweep of one tenant (or of all for ``None``), everything due now.
TenantSweep = Callable[[Runtime[Any, Any], str | None], Awaitable[Swept]]


def sweep_router(path: str, sweep: TenantSweep, answer: type[BaseModel], what: str) -> APIRouter:
    """``POST <path>``: the caller's tenant's due work now (every tenant's with
    ``all_tenants=true``, which the gateway grants the operator only), answered with
    ``answer`` built from the counts (and ``as_of``, the service's now)."""
    router = APIRouter(prefix="/v1")

    async def run_sweep(
        runtime: RuntimeDep, tenant: TenantDep, all_tenants: AllTenants = False
    ) -> Any:
        swept = await sweep(runtime, None if all_tenants else tenant)
        return answer.model_validate({**swept.counts, "as_of": runtime.clock.now()})

    run_sweep.__doc__ = (
        f"Run {what} due at the service's now, of the caller's tenant (of every tenant "
        "with ``all_tenants=true``); their counts."
    )
    router.add_api_route(path, run_sweep, methods=["POST"], response_model=answer)
    return router
