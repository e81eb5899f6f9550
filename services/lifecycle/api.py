"""Lifecycle's HTTP API (reached through the gateway, which authenticates)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.lifecycle import views
from shared.app import RuntimeDep, TenantDep
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["lifecycle"])


class StageCause(BaseModel):
    kind: str
    ref: str


class HistoryEntry(BaseModel):
    from_stage: str | None = Field(serialization_alias="from")
    to_stage: str = Field(serialization_alias="to")
    at: datetime
    cause: StageCause


class CustomerLifecycle(BaseModel):
    stage: str
    since: datetime
    history: list[HistoryEntry]


class Funnel(BaseModel):
    as_of: datetime
    stages: dict[str, int]


@router.get("/customers/{customer_id}/lifecycle", response_model_by_alias=True)
async def get_customer_lifecycle(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> CustomerLifecycle:
    """The customer's stage, since when, and every transition with its cause."""
    found = await views.customer_lifecycle(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise Problem(404, "customer-not-found", f"Lifecycle knows no customer {customer_id}.")
    history = [
        HistoryEntry(
            from_stage=h["from_stage"],
            to_stage=h["to_stage"],
            at=h["at"],
            cause=StageCause(kind=h["cause_kind"], ref=h["cause_ref"]),
        )
        for h in found["history"]
    ]
    return CustomerLifecycle(stage=found["stage"], since=found["since"], history=history)


@router.get("/lifecycle/funnel")
async def get_funnel(runtime: RuntimeDep, tenant: TenantDep) -> Funnel:
    """How many customers stand in each lifecycle stage now."""
    return Funnel(as_of=runtime.clock.now(), stages=await views.funnel(runtime.db.engine, tenant))
