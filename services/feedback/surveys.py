"""A tenant's survey definitions, replaced whole: the definitions given, and each kind
left out stored as not asked, so the rule file's default no longer applies to it."""

from __future__ import annotations

from services.feedback import store
from services.feedback.domain.definitions import SurveyDefinition, replaced
from shared.contracts import surveys as contract
from shared.events.activity import SurveyKind
from shared.uow import Database


async def replace_surveys(db: Database, tenant_id: str, given: contract.SurveySet) -> None:
    """Store the tenant's whole new set of surveys."""
    definitions: dict[SurveyKind, SurveyDefinition] = {}
    for kind in ("nps", "csat", "ces"):
        body = getattr(given, kind)
        if body is not None:
            definitions[kind] = _definition(kind, body)
    async with db.unit_of_work() as uow:
        await store.save_surveys(uow.conn, tenant_id, replaced(definitions), db.clock.now())
        await uow.commit()


def _definition(kind: SurveyKind, body: contract.SurveyDefinition) -> SurveyDefinition:
    return SurveyDefinition(
        survey=kind,
        enabled=body.enabled,
        questions=dict(body.questions),
        triggers=tuple(body.triggers),
        stages=tuple(body.stages),
        delay_hours=body.delay_hours,
        every_days=body.every_days,
        channels=tuple(body.channels),
        expires_after_days=body.expires_after_days,
    )
