"""Taking a merge apart: what the undo gives back to each side. Plain Python, no I/O.

A merge left the merged customer's record as it was (only ``merged_into`` set) and
recorded what moved, so the undo can give the merged customer back exactly what it
had, while the survivor keeps what it had and what arrived for it meanwhile:
- a moved identity the survivor still holds goes back to the merged customer (its
  partner references: their later events land on the merged customer again);
- the merged customer's e-mail and phone identities are its record's again (those the
  merge released are restored, with their first and last seen);
- a detail the merge filled on the survivor's record is emptied again, unless the
  survivor's own source has set it to something else since (that is the survivor's);
- customers merged into the merged customer before point at it again.

The undo is refused while the survivor is itself merged into a third customer (undo
that merge first), so a merge is always taken apart from the top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.profile.resolution import CONTACT_KINDS, Contact, is_reference

Identity = tuple[str, str]  # kind, value
DETAILS = ("name", *CONTACT_KINDS)


class MergeNotFound(LookupError):
    """No such merge in this tenant."""


class AlreadyUndone(RuntimeError):
    """The merge was taken apart already."""


class SurvivorMergedSince(RuntimeError):
    """The survivor was merged into another customer after this merge."""

    def __init__(self, into: str) -> None:
        super().__init__(into)
        self.into = into


@dataclass(frozen=True)
class Moved:
    """What a merge moved, as its record keeps it (older records lack the later keys)."""

    moved: tuple[Identity, ...] = ()
    released: tuple[Identity, ...] = ()
    filled: Mapping[str, str] = field(default_factory=dict)
    repointed: tuple[str, ...] = ()
    released_rows: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Moved:
        return cls(
            moved=tuple((k, v) for k, v in record.get("moved", [])),
            released=tuple((k, v) for k, v in record.get("released", [])),
            filled=dict(record.get("filled", {})),
            repointed=tuple(record.get("repointed", [])),
            released_rows=tuple(record.get("released_rows", [])),
        )


@dataclass(frozen=True)
class UnmergePlan:
    back: list[Identity] = field(default_factory=list)  # survivor → merged, rows kept
    restore: list[Identity] = field(default_factory=list)  # made anew for merged
    cleared: list[str] = field(default_factory=list)  # survivor's details emptied

    def record(self) -> dict[str, object]:
        return {
            "back": [list(i) for i in self.back],
            "restored": [list(i) for i in self.restore],
            "cleared": list(self.cleared),
        }


def plan_unmerge(
    moved: Moved, survivor: Contact, held: Iterable[Identity], merged: Contact
) -> UnmergePlan:
    """What goes back, given the survivor's details and identities (``held``) now and
    the merged customer's record (as the merge left it)."""
    held = set(held)
    plan = UnmergePlan()
    for kind, value in moved.moved:
        if (kind, value) in held and (is_reference(kind) or merged.value(kind) == value):
            plan.back.append((kind, value))
    for kind in CONTACT_KINDS:
        own = merged.value(kind)
        if own is not None and (kind, own) not in plan.back:
            plan.restore.append((kind, own))
    for kind, value in moved.filled.items():
        if _detail(survivor, kind) == value:
            plan.cleared.append(kind)
    return plan


def survivor_after(survivor: Contact, plan: UnmergePlan) -> Contact:
    """The survivor's details once the filled ones are emptied."""
    return replace(survivor, **{kind: None for kind in plan.cleared})


def _detail(contact: Contact, kind: str) -> str | None:
    return contact.name if kind == "name" else contact.value(kind)


def undo_reason(reason: str | None) -> str:
    """The operator's reason, or a plain one."""
    return reason or "merge undone by an operator"
