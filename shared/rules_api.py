"""A service's routes for its tenants' rules (the gateway forwards
``GET/PUT /v1/admin/rules/<kind>`` here): read the rules in force, or replace them by a
new version, validated as the installation's file is at start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from shared.config import RuleFileError
from shared.contracts.rules import RecordedRules, RuleKind, Rules
from shared.problems import Problem
from shared.rulebook import Rulebook
from shared.runtime import Runtime, RuntimeDep, TenantDep

RulebookOf = Callable[[Runtime[Any, Any]], Rulebook[Any]]


def rules_router(kind: RuleKind, rulebook_of: RulebookOf) -> APIRouter:
    """``GET`` and ``PUT /v1/admin/rules/<kind>`` of the service's rulebook."""
    router = APIRouter(prefix="/v1/admin/rules")

    @router.get(f"/{kind}", response_model=Rules)
    async def get_rules(runtime: RuntimeDep, tenant: TenantDep) -> Rules:
        """The tenant's rules in force: its own latest version, else the installation's."""
        book = rulebook_of(runtime)
        async with runtime.db.engine.connect() as conn:
            stored = await book.stored(conn, tenant)
        if stored is None:
            return Rules(kind=kind, source="installation", version=0, rules=book.installation_text)
        return Rules(
            kind=kind, source="tenant", version=stored.version, rules=stored.rules,
            changed_at=stored.created_at, changed_by=stored.created_by,
        )  # fmt: skip

    @router.put(f"/{kind}", response_model=Rules)
    async def put_rules(body: RecordedRules, runtime: RuntimeDep, tenant: TenantDep) -> Rules:
        """Replace the tenant's rules by a new version (422 naming each problem: the rules
        in force stay); every replica applies it from its next batch."""
        book = rulebook_of(runtime)
        try:
            stored, previous = await book.store(runtime.db, tenant, body.rules, body.changed_by)
        except RuleFileError as invalid:
            raise Problem(422, "invalid-rules", str(invalid)) from invalid
        async with runtime.db.engine.connect() as conn:
            await book.refresh(conn)
        return Rules(
            kind=kind, source="tenant", version=stored.version, rules=stored.rules,
            changed_at=stored.created_at, changed_by=stored.created_by, previous_version=previous,
        )  # fmt: skip

    return router
