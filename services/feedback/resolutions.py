"""Resolving complaints, the two ways there are: the filing partner's
``complaint.resolved`` event, and the service desk's route. Either way an open
complaint closes once, in the unit of work that records who resolved it and
announces ``crm.feedback.complaint_resolved.v1`` with the customer's open count after
it (loyalty grants the compensation it carries, within its caps).

A resolution may grant points, so an event resolves only a complaint its own partner
filed (``domain.may_resolve``); the desk route is the gateway's to authorise (scope
``complaints:resolve``, and ``loyalty:compensate`` for points).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.engine import Row

from services.feedback import domain
from services.feedback.tables import complaint
from shared.consumer import Received
from shared.events import CloudEvent, activity, feedback, new_event
from shared.events.envelope import caused_event, derived_id
from shared.uow import Database, UnitOfWork

SOURCE = "/crm/feedback"
log = structlog.get_logger()
RESOLUTIONS_DROPPED = Counter(
    "crm_feedback_resolutions_dropped_total",
    "complaint.resolved events dropped, by reason (unknown, not_filer, not_open)",
    ["reason"],
)


class UnknownComplaint(Exception):
    """No such complaint for this customer in this tenant."""


class AlreadyResolved(Exception):
    def __init__(self, resolved_at: datetime | None) -> None:
        super().__init__("the complaint is already resolved")
        self.resolved_at = resolved_at


@dataclass(frozen=True)
class ResolveAtDesk:
    tenant_id: str
    customer_id: uuid.UUID
    complaint_id: uuid.UUID
    resolution: str
    compensation_points: int


@dataclass(frozen=True)
class Resolution:
    """What closes a complaint: when, by whom, with what and for how many points."""

    at: datetime
    by: str
    text: str
    points: int


async def resolve_from_events(
    uow: UnitOfWork, resolutions: Sequence[Received[activity.ComplaintResolved]]
) -> None:
    """Close the open complaints these events resolve; one locked read and one update
    for the batch.

    A resolution whose complaint is unknown (never filed, filed for another customer,
    or not arrived yet: partner systems are not ordered with each other), filed by
    another partner, already resolved, or opened after the resolution's date is logged
    (without personal data), counted and dropped, never retried: retrying would stall
    the consumer behind an event that may never apply."""
    if not resolutions:
        return
    ordered = sorted(resolutions, key=lambda r: r.event.time)
    found = await _complaints_by_ref(uow, {_ref_key(r) for r in ordered})
    closed: list[tuple[dict[str, Any], Resolution, CloudEvent]] = []
    for received in ordered:
        row = found.get(_ref_key(received))
        reason = _refusal(row, received)
        if reason is not None:
            RESOLUTIONS_DROPPED.labels(reason).inc()
            # a second resolution of a closed complaint is a partner's retry, not a threat
            say = log.info if reason == "not_open" else log.warning
            say("complaint resolution dropped", reason=reason, **_about(received))
            continue
        assert row is not None
        resolved = received.payload
        by = domain.resolved_by_partner(received.event.partner or "")
        resolution = Resolution(
            received.event.time, by, resolved.resolution, resolved.compensation_points
        )
        row.update(status="resolved", resolved_at=resolution.at)
        closed.append((row, resolution, received.event))
    await _close(uow, closed)


async def resolve_at_desk(db: Database, command: ResolveAtDesk) -> Row[Any]:
    """Resolve an open complaint of the customer now, as the service desk decided, and
    return it. Raises ``UnknownComplaint`` or ``AlreadyResolved``; nothing is written then."""
    c = complaint.c
    async with db.unit_of_work() as uow:
        found = (
            await uow.conn.execute(
                select(complaint)
                .where(
                    c.tenant_id == command.tenant_id,
                    c.customer_id == command.customer_id,
                    c.complaint_id == command.complaint_id,
                )
                .with_for_update()
            )
        ).first()
        if found is None:
            raise UnknownComplaint(command.complaint_id)
        row = dict(found._mapping)
        # A complaint dated ahead of the service's clock is resolved at its own opening.
        at = max(db.clock.now(), row["opened_at"])
        if not domain.resolvable(row["status"], row["opened_at"], at):
            raise AlreadyResolved(row["resolved_at"])
        row.update(status="resolved", resolved_at=at)
        resolution = Resolution(at, domain.DESK, command.resolution, command.compensation_points)
        await _close(uow, [(row, resolution, None)])
        answer = (
            await uow.conn.execute(select(complaint).where(c.complaint_id == row["complaint_id"]))
        ).one()
        await uow.commit()
    return answer


def _refusal(
    row: dict[str, Any] | None, received: Received[activity.ComplaintResolved]
) -> str | None:
    """Why this event may not resolve this complaint, or None when it may."""
    if row is None or row["customer_id"] != received.customer[1]:
        return "unknown"
    if not domain.may_resolve(row["partner"], received.event.partner):
        return "not_filer"
    if not domain.resolvable(row["status"], row["opened_at"], received.event.time):
        return "not_open"
    return None


async def _close(
    uow: UnitOfWork, closed: Sequence[tuple[dict[str, Any], Resolution, CloudEvent | None]]
) -> None:
    """Write the resolutions and announce each with the customer's open count after it."""
    if not closed:
        return
    await uow.conn.execute(
        update(complaint)
        .where(complaint.c.complaint_id == bindparam("id"))
        .values(
            status="resolved",
            resolved_at=bindparam("at"),
            escalate_at=None,
            resolved_by=bindparam("by"),
            resolution=bindparam("what"),
        ),
        [
            {"id": row["complaint_id"], "at": r.at, "by": r.by, "what": r.text}
            for row, r, _ in closed
        ],
    )
    counts = await open_counts(uow, {_owner(row) for row, _, _ in closed})
    uow.publish(*(_resolved(row, counts.get(_owner(row), 0), r, cause) for row, r, cause in closed))


async def open_counts(uow: UnitOfWork, keys: set[tuple[str, uuid.UUID]]) -> dict[Any, int]:
    """Each customer's open (or escalated) complaints, by (tenant, customer)."""
    rows = await uow.conn.execute(
        select(complaint.c.tenant_id, complaint.c.customer_id, func.count())
        .where(
            tuple_(complaint.c.tenant_id, complaint.c.customer_id).in_(keys),
            complaint.c.status.in_(domain.OPEN_STATUSES),
        )
        .group_by(complaint.c.tenant_id, complaint.c.customer_id)
    )
    return {(t, c): n for t, c, n in rows}


def _resolved(
    row: dict[str, Any], open_count: int, resolution: Resolution, cause: CloudEvent | None
) -> CloudEvent:
    """The announcement: caused by the partner's event, or (desk) derived from the
    complaint, which is resolved once only."""
    payload = feedback.ComplaintResolved(
        complaint_id=str(row["complaint_id"]),
        complaint_ref=row["complaint_ref"],
        severity=row["severity"],
        opened_at=row["opened_at"],
        resolved_at=resolution.at,
        within_sla=domain.within_sla(row["due_at"], resolution.at),
        compensation_points=resolution.points,
        open_complaints=open_count,
        resolved_by=resolution.by,
    )
    if cause is not None:
        return caused_event(payload, cause, source=SOURCE, purpose="complaint_resolved")
    customer = str(row["customer_id"])
    return new_event(
        payload,
        source=SOURCE,
        tenant_id=row["tenant_id"],
        key=customer,
        subject=customer,
        time=resolution.at,
        event_id=derived_id(row["complaint_id"], "resolved"),
    )


def _ref_key(received: Received[activity.ComplaintResolved]) -> tuple[str, str]:
    resolved = received.payload
    return received.event.tenantid, resolved.complaint_ref


def _owner(row: dict[str, Any]) -> tuple[str, uuid.UUID]:
    return row["tenant_id"], row["customer_id"]


def _about(received: Received[activity.ComplaintResolved]) -> dict[str, str | None]:
    tenant, ref = _ref_key(received)
    return {
        "tenant_id": tenant,
        "complaint_ref": ref,
        "event_id": str(received.event.id),
        "partner": received.event.partner,
    }


async def _complaints_by_ref(
    uow: UnitOfWork, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The complaints filed under these refs, locked until the batch commits."""
    rows = await uow.conn.execute(
        select(complaint)
        .where(tuple_(complaint.c.tenant_id, complaint.c.complaint_ref).in_(keys))
        .with_for_update()
    )
    return {(r.tenant_id, r.complaint_ref): dict(r._mapping) for r in rows}
