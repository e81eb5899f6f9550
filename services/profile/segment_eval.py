"""Evaluating a segment rule (``segment_rules``) against one customer's facts at an
instant: whether it holds, which clauses held (the explanation), and when a time
window next changes the answer. Plain Python, no I/O.

Windows are half-open: an activity at ``at`` counts for ``within_days`` days, in
``(now - within_days, now]``; at ``at + within_days`` it leaves, the window's edge.
An activity dated after now does not count yet (its own edge is its ``at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from services.profile.segment_rules import Activity, Clause, Compare, Consent, Facts, Group


def holds(clause: Clause, facts: Facts, now: datetime) -> bool:
    """Whether the customer matches the clause at ``now``."""
    match clause:
        case Group(kind="all", clauses=inner):
            return all(holds(c, facts, now) for c in inner)
        case Group(kind="any", clauses=inner):
            return any(holds(c, facts, now) for c in inner)
        case Group(clauses=(inner,)):
            return not holds(inner, facts, now)
        case Compare(kind="field", name=name):
            return compare(clause, facts.fields.get(name))
        case Compare(name=name):
            return compare(clause, facts.attributes.get(name))
        case Consent(channel=channel, purpose=purpose):
            return (channel, purpose) in facts.consent
        case Activity():
            count = sum(1 for _ in _counted(clause, facts, now))
            return count >= clause.at_least and (clause.at_most is None or count <= clause.at_most)
    raise TypeError(f"not a clause: {clause!r}")


def explain(clause: Clause, facts: Facts, now: datetime) -> list[tuple[str, bool]]:
    """Every clause's path and whether it held, outermost first."""
    found = [(clause.path, holds(clause, facts, now))]
    if isinstance(clause, Group):
        for inner in clause.clauses:
            found.extend(explain(inner, facts, now))
    return found


def next_edge(clause: Clause, facts: Facts, now: datetime) -> datetime | None:
    """The first instant after ``now`` when an activity enters or leaves one of the
    rule's windows (when the answer may change with no event), or None."""
    edges = [
        edge
        for activity in _activities(clause)
        for seen in facts.activities
        if seen.kind == activity.kind
        and all(compare(w, seen.properties.get(w.name)) for w in activity.where)
        for edge in (seen.at, seen.at + timedelta(days=activity.within_days))
        if edge > now
    ]
    return min(edges, default=None)


def longest_window(clauses: Iterable[Clause]) -> int:
    """The most days any window of these rules looks back (0: no window)."""
    return max((a.within_days for c in clauses for a in _activities(c)), default=0)


def _activities(clause: Clause) -> list[Activity]:
    if isinstance(clause, Activity):
        return [clause]
    if isinstance(clause, Group):
        return [a for inner in clause.clauses for a in _activities(inner)]
    return []


def _counted(clause: Activity, facts: Facts, now: datetime) -> Iterable[object]:
    since = now - timedelta(days=clause.within_days)
    for seen in facts.activities:
        if (
            seen.kind == clause.kind
            and since < seen.at <= now
            and all(compare(w, seen.properties.get(w.name)) for w in clause.where)
        ):
            yield seen


def compare(clause: Compare, fact: Any) -> bool:
    """A fact against the clause's operator and value; a missing fact holds nothing
    but ``ne``."""
    op, value = clause.op, clause.value
    if op == "exists":
        return fact is not None
    if fact is None:
        return op == "ne"
    if op == "contains":
        return isinstance(fact, list) and value in fact
    if op == "in":
        return any(_equal(fact, v) for v in value)
    if op == "eq":
        return _equal(fact, value)
    if op == "ne":
        return not _equal(fact, value)
    if not _comparable(fact, value):
        return False
    return {"gt": fact > value, "gte": fact >= value, "lt": fact < value, "lte": fact <= value}[op]


def _equal(fact: Any, value: Any) -> bool:
    return isinstance(fact, bool) == isinstance(value, bool) and fact == value


def _comparable(fact: Any, value: Any) -> bool:
    if isinstance(fact, bool) or isinstance(value, bool):
        return False
    numbers = isinstance(fact, int | float) and isinstance(value, int | float)
    return numbers or (isinstance(fact, str) and isinstance(value, str))
