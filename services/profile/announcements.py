"""What profile tells the other services: each activity re-published under its
customer, a new customer, a record updated, consent changed, a merge candidate found or
dismissed, two customers merged or a merge undone.
Ids derive from what caused each event, so a replay announces under the same ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from services.profile.attributes import Schema, visible
from services.profile.consent import Decision
from services.profile.merging import Decided, MergeCandidate, MergeRow
from services.profile.resolution import Candidate, Update
from shared.events import CloudEvent, new_event
from shared.events.activity import Inbound
from shared.events.envelope import caused_event, derived_id
from shared.events.payload import Payload
from shared.events.profile import (
    ConsentChanged,
    ConsentChannel,
    ConsentPurpose,
    CustomerCreated,
    CustomerRecordUpdated,
    CustomersMerged,
    CustomersUnmerged,
    MergeCandidateDismissed,
    MergeCandidateFound,
)
from shared.subscription import Received

SOURCE = "/crm/profile"


def activity(received: Received[Inbound[Payload]], customer_id: uuid.UUID) -> CloudEvent:
    activity = received.payload.activity
    return caused_event(
        activity, received.event, source=SOURCE, purpose="activity", subject=str(customer_id)
    )


def customer_created(
    received: Received[Inbound[Payload]], customer_id: uuid.UUID, now: datetime
) -> CloudEvent:
    ref = received.payload.customer
    return caused_event(
        CustomerCreated(
            customer_id=str(customer_id),
            source=ref.source,
            external_id=ref.external_id,
            created_at=now,
        ),
        received.event,
        source=SOURCE,
        purpose="customer_created",
        subject=str(customer_id),
        time=now,
    )


def _found(candidate: Candidate, now: datetime) -> MergeCandidateFound:
    return MergeCandidateFound(
        candidate_id=str(candidate.candidate_id),
        survivor_id=str(candidate.survivor_id),
        merged_id=str(candidate.merged_id),
        matched=list(candidate.matched),
        found_at=now,
    )


def merge_candidate_found(
    received: Received[Inbound[Payload]], candidate: Candidate, now: datetime
) -> CloudEvent:
    return caused_event(
        _found(candidate, now),
        received.event,
        source=SOURCE,
        purpose=f"merge_candidate:{candidate.candidate_id}",
        subject=str(candidate.merged_id),
        time=now,
    )


def merge_candidate_found_by_edit(candidate: Candidate, now: datetime) -> CloudEvent:
    """A candidate an operator's edit of a record opened (a pair is proposed once, so
    its id derives from the candidate's)."""
    merged = str(candidate.merged_id)
    return new_event(
        _found(candidate, now),
        source=SOURCE,
        tenant_id=candidate.tenant_id,
        key=merged,
        subject=merged,
        time=now,
        event_id=derived_id(candidate.candidate_id, "merge_candidate_found"),
    )


def customers_merged(row: MergeRow) -> CloudEvent:
    survivor = str(row["survivor_id"])
    return new_event(
        CustomersMerged(
            merge_id=str(row["merge_id"]),
            survivor_id=survivor,
            merged_id=str(row["merged_id"]),
            candidate_id=str(row["candidate_id"]) if row["candidate_id"] else None,
            decided_at=row["decided_at"],
            decided_by=row["decided_by"],
            reason=row["reason"],
        ),
        source=SOURCE,
        tenant_id=row["tenant_id"],
        key=survivor,
        subject=survivor,
        time=row["decided_at"],
        event_id=derived_id(row["merge_id"], "customers_merged"),
    )


def customers_unmerged(merge: MergeRow, restored: list[str], undone: Decided) -> CloudEvent:
    """A merge taken apart; keyed by the survivor like the merge, so the two keep their
    order on one partition (the id derives from the merge: it is undone once)."""
    survivor = str(merge["survivor_id"])
    return new_event(
        CustomersUnmerged(
            merge_id=str(merge["merge_id"]),
            survivor_id=survivor,
            merged_id=str(merge["merged_id"]),
            restored=restored,
            undone_at=undone["decided_at"],
            undone_by=undone["decided_by"],
            reason=undone["reason"] or "",
        ),
        source=SOURCE,
        tenant_id=merge["tenant_id"],
        key=survivor,
        subject=survivor,
        time=undone["decided_at"],
        event_id=derived_id(merge["merge_id"], "customers_unmerged"),
    )


def merge_candidate_dismissed(candidate: MergeCandidate, decided: Decided) -> CloudEvent:
    merged = str(candidate.merged_id)
    return new_event(
        MergeCandidateDismissed(
            candidate_id=str(candidate.candidate_id),
            survivor_id=str(candidate.survivor_id),
            merged_id=merged,
            **decided,
        ),
        source=SOURCE,
        tenant_id=candidate.tenant_id,
        key=merged,
        subject=merged,
        time=decided["decided_at"],
        event_id=derived_id(candidate.candidate_id, "merge_candidate_dismissed"),
    )


def customer_updated(
    update: Update, schema: Schema, source: str, now: datetime, cause: CloudEvent | None = None
) -> CloudEvent:
    """The record's attributes as they are now (declared ones only) and what changed;
    the id derives from the customer and its version, so a replay repeats it."""
    record = update.record
    tenant, customer = record.key
    values = visible(schema, record.attributes)
    return new_event(
        CustomerRecordUpdated(
            customer_id=str(customer),
            version=record.version,
            attributes=values,
            personal_data=sorted(n for n in values if schema[n].personal_data),
            changed=update.changed,
            source=source,
            updated_at=now,
        ),
        source=SOURCE,
        tenant_id=tenant,
        key=str(customer),
        subject=str(customer),
        time=now,
        event_id=derived_id(customer, f"customer_updated:{record.version}"),
        correlation_id=cause.correlationid if cause else None,
        causation_id=cause.id if cause else None,
        partner=cause.partner if cause else None,
    )


def consent_changed(decision: Decision) -> CloudEvent:
    """A consent decision that became the customer's current state."""
    customer = str(decision.customer_id)
    return new_event(
        ConsentChanged(
            channel=cast(ConsentChannel, decision.channel),
            purpose=cast(ConsentPurpose, decision.purpose),
            granted=decision.granted,
            at=decision.at,
            source=decision.source,
            proof=decision.proof,
        ),
        source=SOURCE,
        tenant_id=decision.tenant_id,
        key=customer,
        subject=customer,
        time=decision.at,
        event_id=derived_id(decision.change_id, "consent_changed"),
    )
