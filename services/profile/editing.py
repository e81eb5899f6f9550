"""What operators and front ends change over HTTP, each in one unit of work: a
customer's record (a JSON merge patch under optimistic concurrency), the tenant's
attribute schema, and consent recorded by API.

An edit of the record follows the rules partner events follow
(``services.profile.resolution``): the identities follow the e-mail and phone, a value
another customer holds opens a merge candidate, every change makes a new version,
announced as ``crm.profile.customer_updated.v1``. The details stay the owning
source's: its next event may set them again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.profile import announcements, attributes, record_store, store, subject_keys
from services.profile.attributes import Definition
from services.profile.consent import Decision
from services.profile.recording import apply_consent
from services.profile.resolution import Record, Resolution, find_candidates
from shared.uow import Database, UnitOfWork

API = "api"


class CustomerNotFound(LookupError):
    """No such customer in this tenant."""


class StaleVersion(RuntimeError):
    """The record changed since the version the client read."""

    def __init__(self, version: int) -> None:
        super().__init__(f"the record is at version {version}")
        self.version = version


def etag(version: int) -> str:
    return f'"{version}"'


def matches(if_match: str | None, version: int) -> bool:
    """RFC 9110 If-Match, strong comparison: absent or ``*`` match any version."""
    if if_match is None or if_match.strip() == "*":
        return True
    return etag(version) in (tag.strip() for tag in if_match.split(","))


@dataclass(frozen=True)
class Edit:
    """A merge patch of the record: the contact details it names (``None`` removes)
    and its attributes' patch."""

    contact: dict[str, str | None]
    attributes: dict[str, Any]


async def live(uow: UnitOfWork, tenant_id: str, customer_id: uuid.UUID) -> Record:
    records, moved = await store.live_records(uow.conn, [(tenant_id, customer_id)])
    key = moved.get((tenant_id, customer_id), (tenant_id, customer_id))
    if key not in records:
        raise CustomerNotFound(customer_id)
    return records[key]


async def edit_record(
    db: Database, tenant_id: str, customer_id: uuid.UUID, edit: Edit, if_match: str | None
) -> tuple[Record, attributes.Schema]:
    """Apply the patch to the customer (its survivor, if merged) unless the record moved
    past the version ``if_match`` names. Raises ``CustomerNotFound``, ``StaleVersion``,
    ``InvalidAttributes``. An edit that changes nothing keeps the version."""
    now = db.clock.now()
    async with db.unit_of_work() as uow:
        record = await live(uow, tenant_id, customer_id)
        if not matches(if_match, record.version):
            raise StaleVersion(record.version)
        schema = (await record_store.schemas(uow.conn, [tenant_id]))[tenant_id]
        patch = attributes.checked(schema, edit.attributes)
        resolution = Resolution({}, {record.key: record}, now)
        resolution.edit(0, record.key, edit.contact)
        resolution.patch_attributes(0, record.key, patch)
        updates = resolution.settle()
        if updates:
            claims = resolution.claims()
            holders = await store.holders(uow.conn, {c.contact for c in claims})
            candidates = find_candidates(resolution, holders)
            await store.update_customers(uow.conn, resolution.changed(), now)
            await store.release_identities(uow.conn, resolution.released())
            await store.record_identities(
                uow.conn, [(c.contact, c.customer, API) for c in claims], now
            )
            opened = await store.insert_candidates(uow.conn, candidates, now)
            announced = [announcements.customer_updated(u, schema, API, now) for u in updates]
            uow.publish(*await subject_keys.sealed_records(uow.conn, announced, now))
            uow.publish(
                *(
                    announcements.merge_candidate_found_by_edit(c, now)
                    for c in candidates
                    if c.candidate_id in opened
                )
            )
            await uow.commit()
    return record, schema


async def replace_schema(
    db: Database, tenant_id: str, declared: Sequence[Definition]
) -> list[Definition]:
    """Declare exactly these attributes (``InvalidAttributes`` if a name would change
    its type or is declared twice)."""
    async with db.unit_of_work() as uow:
        known = await record_store.known_types(uow.conn, tenant_id)
        definitions = attributes.replacement(known, declared)
        await record_store.replace_schema(uow.conn, tenant_id, definitions, db.clock.now())
        await uow.commit()
    return definitions


async def schema_of(db: Database, tenant_id: str) -> list[Definition]:
    async with db.engine.connect() as conn:
        found = (await record_store.schemas(conn, [tenant_id]))[tenant_id]
    return sorted(found.values(), key=lambda d: d.name)


async def record_consent(
    db: Database,
    tenant_id: str,
    customer_id: uuid.UUID,
    decision: dict[str, Any],
    recorded_by: str | None,
) -> tuple[Decision, bool]:
    """Record a decision taken through the API (on the survivor, if merged)."""
    now = db.clock.now()
    async with db.unit_of_work() as uow:
        record = await live(uow, tenant_id, customer_id)
        recorded = Decision(
            change_id=uuid.uuid4(),
            tenant_id=tenant_id,
            customer_id=record.key[1],
            channel=decision["channel"],
            purpose=decision["purpose"],
            granted=decision["granted"],
            at=decision.get("at") or now,
            source=API,
            proof=decision.get("proof"),
            recorded_by=recorded_by or API,
        )
        [(_, applied)] = await apply_consent(uow, [recorded], now)
        await uow.commit()
    return recorded, applied
