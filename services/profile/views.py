"""Profile's read side: the queries behind the customer and merge-candidate endpoints,
each answered as the API shows it (``shared.contracts.customers`` and ``.profile``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.profile import attributes, domain, record_store
from services.profile.consent import State
from services.profile.resolution import Contact, Record
from services.profile.store import MAX_MERGE_HOPS, record_of
from services.profile.tables import customer, identity, merge_candidate
from services.profile.tables import customer_view as view
from shared.contracts.customers import (
    ChurnRiskSummary,
    Customer360,
    FeedbackSummary,
    LoyaltySummary,
    PurchaseStats,
    ValueSummary,
)
from shared.contracts.profile import CandidatePage, MergeCandidate
from shared.contracts.records import (
    ConsentEntry,
    ConsentPage,
    ConsentState,
    IdentityEntry,
    IdentityList,
)
from shared.cursors import encode_keyset


async def find_by_reference(
    engine: AsyncEngine, tenant_id: str, source: str, external_id: str
) -> uuid.UUID | None:
    """The customer a partner system knows as ``external_id``, if any: only a partner
    reference answers (never an e-mail or phone), and a merged customer's references
    answer with the survivor."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            select(identity.c.customer_id).where(
                identity.c.tenant_id == tenant_id,
                identity.c.kind == f"ref:{source}",
                identity.c.value == external_id,
            )
        )
        if found is None:
            return None
        record = await _live_customer(conn, tenant_id, found)
    return record.key[1] if record is not None else None


async def _live_customer(
    conn: AsyncConnection, tenant_id: str, customer_id: uuid.UUID
) -> Record | None:
    """The customer, or the survivor it was merged into."""
    for _ in range(MAX_MERGE_HOPS):
        row = (
            (
                await conn.execute(
                    select(customer).where(
                        customer.c.tenant_id == tenant_id, customer.c.customer_id == customer_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        if row["merged_into"] is None:
            return record_of(row)
        customer_id = row["merged_into"]
    return None


async def customer_360(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> Customer360 | None:
    """The customer's 360, or None (also for another tenant's customer).

    A merged customer answers with its survivor's 360 (whose ``customer_id`` says
    so). A customer whose first events have not been folded yet (or whose 360 is
    being rebuilt) reads as a 360 nobody has said anything about."""
    async with engine.connect() as conn:
        record = await _live_customer(conn, tenant_id, customer_id)
        if record is None:
            return None
        live = record.key[1]
        rows = await conn.execute(
            select(view).where(
                view.c.tenant_id == tenant_id,
                or_(view.c.customer_id == live, view.c.merged_into == live),
            )
        )
        views = [_view(r) for r in rows.mappings()]
        schema = (await record_store.schemas(conn, [tenant_id]))[tenant_id]
        consent = await record_store.consent_states(conn, [record.key])
    own = next(
        (v for v in views if v["customer_id"] == live),
        domain.new_view(tenant_id, live, record.created_at),
    )
    found = domain.combine(own, [v for v in views if v["customer_id"] != live])
    answer = _answer_360(found, record.contact)
    answer.attributes = attributes.visible(schema, record.attributes)
    answer.version = record.version
    answer.consent = _states(consent)
    return answer


def _answer_360(found: domain.View, contact: Contact) -> Customer360:
    """A folded 360 and the customer's details, as the API shows them."""
    churn = None
    if found["churn_score"] is not None:
        churn = ChurnRiskSummary(
            score=found["churn_score"], level=found["churn_level"], reasons=found["churn_reasons"]
        )
    return Customer360(
        customer_id=found["customer_id"],
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        stage=found["stage"],
        stage_since=found["stage_since"],
        churn_risk=churn,
        loyalty=LoyaltySummary.model_validate(found),
        feedback=FeedbackSummary.model_validate(found),
        stats=PurchaseStats.model_validate(
            {**found, "revenue_minor": max(0, found["revenue_minor"])}
        ),
        updated_at=found["updated_at"],
        value=None
        if found["value_class"] is None
        else ValueSummary(
            value_class=found["value_class"],
            clv_minor=found["clv_minor"],
            currency=found["value_currency"],
        ),
        reactivations=found["reactivations"],
        preferred_channel=found["preferred_channel"],
    )


async def candidates_page(
    engine: AsyncEngine,
    tenant_id: str,
    status: str | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> CandidatePage:
    """Merge candidates oldest first (a work queue); the cursor is the last one's
    (found_at, candidate_id), so pages stay stable while new candidates arrive."""
    m = merge_candidate.c
    query = select(merge_candidate).where(m.tenant_id == tenant_id)
    if status is not None:
        query = query.where(m.status == status)
    if after:
        at, candidate_id = after
        query = query.where(
            or_(m.found_at > at, and_(m.found_at == at, m.candidate_id > candidate_id))
        )
    query = query.order_by(m.found_at, m.candidate_id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    page = [MergeCandidate.model_validate(r, from_attributes=True) for r in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return CandidatePage(
        candidates=page,
        next_cursor=encode_keyset(last.found_at, last.candidate_id) if last else None,
    )


async def candidate(
    engine: AsyncEngine, tenant_id: str, candidate_id: uuid.UUID
) -> MergeCandidate | None:
    """The merge candidate as the API shows it, or None (also for another tenant's)."""
    m = merge_candidate.c
    async with engine.connect() as conn:
        query = select(merge_candidate).where(
            m.tenant_id == tenant_id, m.candidate_id == candidate_id
        )
        row = (await conn.execute(query)).first()
    return MergeCandidate.model_validate(row, from_attributes=True) if row else None


def _view(row: RowMapping) -> domain.View:
    """A 360 row, typed (``merged_into`` is the fold's business, not the reader's)."""
    return cast(domain.View, {k: v for k, v in row.items() if k != "merged_into"})


async def identities(
    engine: AsyncEngine, tenant_id: str, customer_id: uuid.UUID
) -> IdentityList | None:
    """The identities of the customer (its survivor's, if merged), or None."""
    async with engine.connect() as conn:
        record = await _live_customer(conn, tenant_id, customer_id)
        if record is None:
            return None
        rows = await record_store.identities(conn, record.key)
    return IdentityList(
        customer_id=record.key[1],
        identities=[IdentityEntry(**r, first_seen_at=r["created_at"]) for r in rows],
    )


async def consent_page(
    engine: AsyncEngine,
    tenant_id: str,
    customer_id: uuid.UUID,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> ConsentPage | None:
    """The customer's current consent and a page of its decisions, newest first."""
    async with engine.connect() as conn:
        record = await _live_customer(conn, tenant_id, customer_id)
        if record is None:
            return None
        states = await record_store.consent_states(conn, [record.key])
        rows = await record_store.consent_history(conn, record.key, limit, before)
    history = [ConsentEntry.model_validate(r) for r in rows[:limit]]
    last = history[-1] if len(rows) > limit else None
    return ConsentPage(
        customer_id=record.key[1],
        current=_states(states),
        history=history,
        next_cursor=encode_keyset(last.at, last.change_id) if last else None,
    )


def _states(states: list[State]) -> list[ConsentState]:
    ordered = sorted(states, key=lambda s: (s.channel, s.purpose))
    return [ConsentState.model_validate(s, from_attributes=True) for s in ordered]


async def holders(engine: AsyncEngine, tenant_id: str, kind: str, value: str) -> list[uuid.UUID]:
    """The customers an e-mail or phone names, oldest first."""
    async with engine.connect() as conn:
        return await record_store.holders_of(conn, tenant_id, kind, value)
