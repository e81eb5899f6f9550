"""Merge candidates and merges: what an operator's decision does. Plain Python, no I/O.

A candidate is decided once: confirming merges the two customers, dismissing keeps
them apart for good (a pair is never proposed again). Repeating the decision that
was taken answers the same again; the other decision is a conflict.

A merge keeps the older customer (the survivor) and retires the newer one:
- every partner reference of the merged customer moves to the survivor, so its
  events and lookups land there from now on;
- the survivor's contact details stay; a detail it lacks is taken from the merged
  record with its identity (the operator joined the two records), and the merged
  customer's other e-mail and phone identities are released, so the survivor's
  identities still equal its record and no identity names a retired customer;
- the merged customer's record stays as it was (``merged_into`` the survivor), and
  what moved is recorded, so that a merge can be taken apart later.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypedDict

from services.profile.resolution import CONTACT_KINDS, Contact, is_reference

Decision = Literal["confirm", "dismiss"]
Verdict = Literal["apply", "repeat", "conflict"]

OPEN = "open"
CONFIRMED = "confirmed"
DISMISSED = "dismissed"
STATUSES = (OPEN, CONFIRMED, DISMISSED)
STATUS_AFTER: dict[Decision, str] = {"confirm": CONFIRMED, "dismiss": DISMISSED}


class CandidateNotFound(LookupError):
    """No such candidate in this tenant."""


class AlreadyDecided(RuntimeError):
    """The candidate was decided the other way."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class MergeCandidate:
    """Two customers that share an e-mail or phone, and what an operator decided."""

    candidate_id: uuid.UUID
    tenant_id: str
    survivor_id: uuid.UUID  # the older customer, who stays
    merged_id: uuid.UUID
    matched: tuple[str, ...]  # email, phone or both
    status: str  # OPEN, CONFIRMED or DISMISSED
    found_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    merge_id: uuid.UUID | None = None


class Decided(TypedDict):
    """Who decided a candidate, when, and why (the operator's reason, if any)."""

    decided_at: datetime
    decided_by: str | None
    reason: str | None


class CustomerNotFound(LookupError):
    """An operator named a customer this tenant does not have."""

    def __init__(self, customer_id: uuid.UUID) -> None:
        super().__init__(str(customer_id))
        self.customer_id = customer_id


class SameCustomer(ValueError):
    """An operator asked to merge a customer with itself."""


class MergedAlready(RuntimeError):
    """A customer an operator named was merged into another one already."""

    def __init__(self, customer_id: uuid.UUID, into: uuid.UUID) -> None:
        super().__init__(str(customer_id))
        self.customer_id = customer_id
        self.into = into


class MergeRow(TypedDict):
    """A merge as it is recorded and announced (its row, but for what moved)."""

    merge_id: uuid.UUID
    tenant_id: str
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    candidate_id: uuid.UUID | None
    decided_at: datetime
    decided_by: str | None
    reason: str


def judge(status: str, decision: Decision) -> Verdict:
    """What a decision does to a candidate in ``status``."""
    if status == OPEN:
        return "apply"
    return "repeat" if status == STATUS_AFTER[decision] else "conflict"


Identity = tuple[str, str]  # kind, value


@dataclass(frozen=True)
class MergePlan:
    moved: list[Identity] = field(default_factory=list)
    released: list[Identity] = field(default_factory=list)
    filled: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, object]:
        """What moved, as the merge's record keeps it."""
        return {
            "moved": [list(i) for i in self.moved],
            "released": [list(i) for i in self.released],
            "filled": dict(self.filled),
        }


def plan_merge(survivor: Contact, merged: Contact, identities: Iterable[Identity]) -> MergePlan:
    """Which of the merged customer's identities move to the survivor, which are let
    go, and which details of the survivor's record are filled from the merged one."""
    plan = MergePlan()
    for kind, value in sorted(identities):
        if is_reference(kind):
            plan.moved.append((kind, value))
        elif _fills(kind, value, survivor, merged, plan):
            plan.moved.append((kind, value))
            plan.filled[kind] = value
        else:
            plan.released.append((kind, value))
    if survivor.name is None and merged.name:
        plan.filled["name"] = merged.name
    return plan


def _fills(kind: str, value: str, survivor: Contact, merged: Contact, plan: MergePlan) -> bool:
    """Whether the merged record's ``kind`` fills the survivor's empty one."""
    return (
        kind in CONTACT_KINDS
        and survivor.value(kind) is None
        and kind not in plan.filled
        and merged.value(kind) == value
    )


def merge_reason(matched: Iterable[str], reason: str | None) -> str:
    """The operator's reason, or what the candidate was found on."""
    return reason or f"merge candidate confirmed ({' and '.join(matched)} matched)"
