"""Resolving complaints, the two ways there are: the filing partner's
``complaint.resolved`` event, and the service desk's route. Either way an open
complaint closes once, in the unit of work that records who resolved it (at the
desk, the API key too) and announces ``crm.feedback.complaint_resolved.v1`` with the
customer's open count after it (loyalty grants the compensation it carries, within
its caps, and its ledger entry names the cap that cut it), and schedules the CES
follow-up the tenant's surveys ask for.

A resolution may grant points, so an event resolves only a complaint its own partner
filed (``complaints.may_resolve``); the desk route is the gateway's to authorise
(scope ``complaints:resolve``, and ``loyalty:compensate`` for points).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from prometheus_client import Counter

from services.feedback import announcements, scheduling, sealing, store
from services.feedback.domain import complaints
from services.feedback.domain.complaints import Complaint, Refusal, Resolution
from services.feedback.domain.config import Invitations
from shared.events import CloudEvent, activity
from shared.keyring import Keys
from shared.parking import Parking
from shared.subscription import Received
from shared.uow import Database, UnitOfWork

log = structlog.get_logger()
RESOLUTIONS_DROPPED = Counter(
    "crm_feedback_resolutions_dropped_total",
    "complaint.resolved events dropped, by reason (unknown, not_filer, not_open)",
    ["reason"],
)
Closed = tuple[Complaint, Resolution, CloudEvent | None]  # the resolved complaint, how, cause


class UnknownComplaint(Exception):
    """No such complaint for this customer in this tenant."""


class AlreadyResolved(Exception):
    def __init__(self, status: str, resolved_at: datetime | None) -> None:
        super().__init__("the complaint is already resolved")
        self.status, self.resolved_at = status, resolved_at


@dataclass(frozen=True)
class ResolveAtDesk:
    tenant_id: str
    customer_id: uuid.UUID
    complaint_id: uuid.UUID
    resolution: str
    compensation_points: int
    resolver: str | None = None  # the API key, as the gateway names it


async def resolve_from_events(
    uow: UnitOfWork,
    resolved: Sequence[Received[activity.ComplaintResolved]],
    rules: Invitations,
    parking: Parking,
) -> None:
    """Close the open complaints these events resolve; one locked read and one update
    for the batch.

    A resolution whose complaint has not arrived yet (partner systems are not ordered
    with each other) is parked until the complaint is filed (``parked_for``). One whose
    complaint is another customer's, filed by another partner, already resolved, or
    opened after the resolution's date is logged (without personal data), counted and
    dropped, never retried: retrying would stall the consumer behind an event that may
    never apply."""
    if not resolved:
        return
    ordered = sorted(resolved, key=lambda r: r.event.time)
    found = await store.complaints_by_ref(uow.conn, {_ref_key(r) for r in ordered})
    closed: list[Closed] = []
    early: list[tuple[Received[activity.ComplaintResolved], str]] = []
    for received in ordered:
        event, asked = received.event, received.payload
        current = found.get(_ref_key(received))
        if current is None:
            early.append((received, awaited(received.payload.complaint_ref)))
            continue
        reason = complaints.refusal(current, received.customer[1], event.partner, event.time)
        if reason is not None:
            _drop(reason, received)
            continue
        assert current is not None  # else refused as unknown
        by = complaints.resolved_by_partner(event.partner or "")
        resolution = Resolution(event.time, by, asked.resolution, asked.compensation_points)
        # Kept in ``found``, so a second resolution in this batch finds it resolved.
        found[_ref_key(received)] = done = complaints.resolve(current, resolution)
        closed.append((done, resolution, event))
    await _close(uow, closed, rules)
    await parking.park(uow.conn, early)


async def resolve_at_desk(
    db: Database, command: ResolveAtDesk, rules: Invitations, keys: Keys
) -> Complaint:
    """Resolve an open complaint of the customer now, as the service desk decided, and
    return it, its text announced sealed under the customer's key from ``keys``. Raises
    ``UnknownComplaint``, ``AlreadyResolved`` or ``KeysUnavailable``; nothing is written
    then."""
    tenant, customer = command.tenant_id, command.customer_id
    sealing_keys = await sealing.keys_for(keys, tenant, customer, command.resolution)
    async with db.unit_of_work() as uow:
        done = await resolve_in(uow, command, rules, db.clock.now(), sealing_keys)
        await uow.commit()
    return done


async def resolve_in(
    uow: UnitOfWork,
    command: ResolveAtDesk,
    rules: Invitations,
    now: datetime,
    keys: sealing.CustomerKeys = sealing.NONE,
) -> Complaint:
    """The desk's resolution at ``now`` in ``uow``: at the route, or again by a rebuild
    from its ``complaint_resolved`` event (``services.feedback.decisions``), which
    announces nothing and so needs no ``keys`` to seal its text with."""
    found = await store.lock_complaint(
        uow.conn, command.tenant_id, command.customer_id, command.complaint_id
    )
    if found is None:
        raise UnknownComplaint(command.complaint_id)
    resolution = complaints.desk_resolution(
        found, command.resolution, command.compensation_points, now, command.resolver
    )
    if not complaints.resolvable(found.status, found.opened_at, resolution.at):
        raise AlreadyResolved(found.status, found.resolved_at)
    done = complaints.resolve(found, resolution)
    await _close(uow, [(done, resolution, None)], rules, keys)
    return done


async def _close(
    uow: UnitOfWork,
    closed: Sequence[Closed],
    rules: Invitations,
    keys: sealing.CustomerKeys = sealing.NONE,
) -> None:
    """Write the resolutions, announce each with the customer's open count after it (a
    desk's text sealed under its customer's key in ``keys``), and schedule the
    follow-up surveys they earn."""
    if not closed:
        return
    resolved = [c for c, _, _ in closed]
    await store.save_complaints(uow.conn, resolved)
    counts = await store.open_counts(uow.conn, {c.customer for c in resolved})
    uow.publish(
        *(
            announcements.complaint_resolved(
                c, resolution, counts.get(c.customer, 0), cause, keys.get(c.customer_id)
            )
            for c, resolution, cause in closed
        )
    )
    await scheduling.schedule(uow, scheduling.follow_ups(resolved), rules)


def _drop(reason: Refusal, received: Received[activity.ComplaintResolved]) -> None:
    RESOLUTIONS_DROPPED.labels(reason).inc()
    # a second resolution of a closed complaint is a partner's retry, not a threat
    say = log.info if reason == "not_open" else log.warning
    tenant, ref = _ref_key(received)
    say(
        "complaint resolution dropped",
        reason=reason,
        tenant_id=tenant,
        complaint_ref=ref,
        event_id=str(received.event.id),
        partner=received.event.partner,
    )


def awaited(complaint_ref: str) -> str:
    """What a resolution of ``complaint_ref`` waits for, when it came first."""
    return f"complaint:{complaint_ref}"


def _ref_key(received: Received[activity.ComplaintResolved]) -> store.RefKey:
    return received.event.tenantid, received.payload.complaint_ref
