"""What partner events change besides who a customer is: the attributes they carry
(``customer.registered``, ``customer.updated``) and consent (``consent.changed``),
and what the tenants' identity guardrails make of their contact details, worked out
for a whole batch inside the inbound consumer's unit of work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter

from services.profile import announcements, attributes, record_store, store, subject_keys
from services.profile.consent import Decision, judge
from services.profile.guardrails import DEFAULT, Guardrails
from services.profile.resolution import (
    CONTACT_KINDS,
    Contact,
    ContactKey,
    CustomerKey,
    ReferenceKey,
    Resolution,
    reference_key,
)
from shared.events.activity import (
    ConsentReported,
    CustomerRef,
    CustomerRegistered,
    CustomerUpdated,
    Inbound,
)
from shared.events.envelope import derived_id
from shared.events.payload import Payload
from shared.subscription import Received
from shared.uow import UnitOfWork

log = structlog.get_logger()
ATTRIBUTES_DROPPED = Counter(
    "crm_profile_attributes_dropped_total",
    "Attribute values of partner events dropped: undeclared names or values of another type",
)
Batch = Sequence[Received[Inbound[Payload]]]


def _patch_of(activity: Payload) -> dict[str, object] | None:
    if isinstance(activity, CustomerRegistered | CustomerUpdated):
        return dict(activity.attributes)
    return None


async def patch_attributes(
    uow: UnitOfWork, batch: Batch, resolved: Sequence[CustomerKey], resolution: Resolution
) -> record_store.Schemas:
    """Apply the attributes the batch's events carry, each checked against its
    tenant's schema (undeclared names and values of another type are dropped and
    counted); returns the schemas read."""
    patches = [(i, key, p) for i, key in enumerate(resolved) if (p := _patch_of(_act(batch, i)))]
    schemas = await record_store.schemas(uow.conn, {key[0] for _, key, _ in patches})
    for index, key, patch in patches:
        kept, dropped = attributes.accepted(schemas[key[0]], patch)
        if dropped:
            ATTRIBUTES_DROPPED.inc(len(dropped))
            log.info("attributes dropped", names=dropped, event_id=str(batch[index].event.id))
        if kept:
            resolution.patch_attributes(index, key, kept)
    return schemas


def _act(batch: Batch, index: int) -> Payload:
    return batch[index].payload.activity


async def announce_updates(
    uow: UnitOfWork,
    batch: Batch,
    resolution: Resolution,
    schemas: record_store.Schemas,
    now: datetime,
) -> None:
    """Settle the changed records' versions and announce each one's update."""
    updates = resolution.settle()
    missing = {u.record.key[0] for u in updates} - set(schemas)
    schemas = {**schemas, **await record_store.schemas(uow.conn, missing)}
    announced = []
    for update in updates:
        cause = batch[resolution.cause(update.record.key)]
        source = cause.payload.customer.source
        schema = schemas[update.record.key[0]]
        announced.append(announcements.customer_updated(update, schema, source, now, cause.event))
    uow.publish(*await subject_keys.sealed_records(uow.conn, announced, now))


async def record_consent(
    uow: UnitOfWork, batch: Batch, resolved: Sequence[CustomerKey], now: datetime
) -> None:
    """Record the consent decisions of the batch and announce those that apply."""
    decisions = [
        _decision(batch[i], key, activity)
        for i, key in enumerate(resolved)
        if isinstance(activity := _act(batch, i), ConsentReported)
    ]
    await apply_consent(uow, decisions, now)


def _decision(
    received: Received[Inbound[Payload]], key: CustomerKey, act: ConsentReported
) -> Decision:
    return Decision(
        change_id=derived_id(received.event.id, "consent"),
        tenant_id=key[0],
        customer_id=key[1],
        channel=act.channel,
        purpose=act.purpose,
        granted=act.granted,
        at=received.event.time,
        source=received.payload.customer.source,
        proof=act.proof,
        recorded_by=f"partner:{received.payload.partner}",
    )


async def apply_consent(
    uow: UnitOfWork, decisions: Sequence[Decision], now: datetime
) -> list[tuple[Decision, bool]]:
    """Judge decisions against the customers' current consent, keep them all in the
    history, and announce those that became the current state; says which did."""
    if not decisions:
        return []
    states = await record_store.consent_states(
        uow.conn, {(d.tenant_id, d.customer_id) for d in decisions}
    )
    judged = judge({s.slot: s for s in states}, decisions)
    await record_store.record_consent(uow.conn, judged, now)
    announced = [announcements.consent_changed(d) for d, applied in judged if applied]
    uow.publish(*await subject_keys.sealed_records(uow.conn, announced, now))
    return judged


@dataclass(frozen=True)
class Guarded:
    """What the batch's tenants' guardrails make of their partners' contact details."""

    rails: dict[str, Guardrails]
    links: dict[ContactKey, CustomerKey]

    def screen(self, tenant_id: str, contact: Contact) -> Contact:
        return self.rails.get(tenant_id, DEFAULT).screened(contact)


async def guard(
    uow: UnitOfWork, refs: Sequence[tuple[str, CustomerRef]], known: Mapping[ReferenceKey, Any]
) -> Guarded:
    """Read the guardrails of the batch's tenants and, where a tenant links on a match,
    which e-mails and phones of unknown references one customer holds (and may take one
    more reference)."""
    rails = await record_store.guardrails(uow.conn, {t for t, _ in refs})
    guarded = Guarded(rails, {})
    wanted = {
        (t, kind, value)
        for t, ref in refs
        if rails[t].on_match == "link" and reference_key(t, ref) not in known
        for kind in CONTACT_KINDS
        if (value := guarded.screen(t, Contact.of(ref)).value(kind))
    }
    held: dict[ContactKey, set[CustomerKey]] = {}
    for contact, holder in await store.holders(uow.conn, wanted):
        held.setdefault(contact, set()).add(holder.customer)
    sole = {contact: next(iter(h)) for contact, h in held.items() if len(h) == 1}
    counts = await record_store.reference_counts(uow.conn, sole.values())
    guarded.links.update(
        (contact, customer)
        for contact, customer in sole.items()
        if counts.get(customer, 0) < rails[contact[0]].max_identities
    )
    return guarded
