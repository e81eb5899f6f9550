"""The segment rule language: a small JSON tree an analyst writes, checked when it is
saved, evaluated against one customer's facts. Plain Python, no I/O.

A rule is one clause; a clause is one of

- ``{"all": [clause, …]}``, ``{"any": [clause, …]}``, ``{"not": clause}``;
- ``{"field": "churn_score", "op": "gte", "value": 60}``: a fact of the 360 (``FIELDS``);
- ``{"attribute": "vip", "op": "eq", "value": true}``: a declared attribute, its value of
  the attribute's type;
- ``{"consent": {"channel": "email", "purpose": "marketing"}}``: consent granted now;
- ``{"activity": "purchase_completed", "within_days": 90, "at_least": 2, "where": […]}``:
  how many activities of a kind (``at_least``, default 1, or 0 beside ``at_most``) in the
  last ``within_days`` days, those whose ``properties`` match every ``where``
  (``{"property": "channel", "op": "eq", "value": "web"}``).

Operators: ``eq ne gt gte lt lte`` (a number or a date against one value), ``in`` (one
of a list), ``contains`` (a list attribute holds the value), ``exists``. A missing value
holds no comparison. Saving refuses a rule with a fault, naming the clause by its path
(``all[1].field``), so an analyst knows what to fix.

Time windows make membership change with no event: an activity counted by a window
leaves it ``within_days`` after it happened. ``next_edge`` names the first such instant
after now, which the caller keeps as a due-time row, never a timer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

from services.profile.attributes import Definition, fault
from shared import topics
from shared.events import REGISTRY
from shared.events.profile import ConsentChannel, ConsentPurpose

FIELDS: dict[str, str] = {
    "stage": "text",
    "churn_score": "number",
    "churn_level": "text",
    "tier": "text",
    "points_balance": "number",
    "points_pending": "number",
    "orders": "number",
    "revenue_minor": "number",
    "last_nps": "number",
    "open_complaints": "number",
    "value_class": "text",
    "clv_minor": "number",
    "reactivations": "number",
}
# The activity kinds a segment may name: one per name, whatever its versions (v1 and v2
# of complaint_resolved are both "complaint_resolved").
ACTIVITIES = tuple(sorted({t.type.split(".")[2] for t in REGISTRY if t.topic == topics.ACTIVITY}))
CHANNELS: tuple[str, ...] = get_args(ConsentChannel)
PURPOSES: tuple[str, ...] = get_args(ConsentPurpose)
ORDERED = ("gt", "gte", "lt", "lte")
OPS = ("eq", "ne", *ORDERED, "in", "contains", "exists")
MAX_DAYS = 3650
MAX_CLAUSES = 50
MAX_DEPTH = 6
MAX_IN = 100


class RuleError(ValueError):
    """A rule with a fault; ``path`` names the clause (``all[1].field``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


@dataclass(frozen=True)
class Compare:
    """A fact (of the 360, an attribute or a property) compared with a value."""

    path: str
    kind: str  # field, attribute or property
    name: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Consent:
    path: str
    channel: str
    purpose: str


@dataclass(frozen=True)
class Activity:
    path: str
    kind: str
    within_days: int
    at_least: int = 1
    at_most: int | None = None
    where: tuple[Compare, ...] = ()


@dataclass(frozen=True)
class Group:
    """``all`` or ``any`` of clauses, or ``not`` of one."""

    path: str
    kind: str
    clauses: tuple[Clause, ...]


Clause = Compare | Consent | Activity | Group


@dataclass(frozen=True)
class Seen:
    """One activity of the customer: its kind, when, and its properties."""

    kind: str
    at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """What a rule can ask of one customer."""

    fields: Mapping[str, Any]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    consent: frozenset[tuple[str, str]] = frozenset()
    activities: Sequence[Seen] = ()


def parse(doc: Any, schema: Mapping[str, Definition] | None) -> Clause:
    """The rule ``doc`` checked against the 360's fields and the tenant's attributes
    (raises ``RuleError`` naming the first faulty clause). ``schema`` None reads a rule
    checked when it was saved, whose attributes the tenant may have hidden since (such
    a clause then matches nobody: no customer shows a hidden attribute)."""
    counter = [0]
    return _clause(doc, "rule", schema, 0, counter)


def _clause(
    doc: Any, path: str, schema: Mapping[str, Definition] | None, depth: int, counter: list[int]
) -> Clause:
    counter[0] += 1
    if counter[0] > MAX_CLAUSES:
        raise RuleError(path, f"a rule has at most {MAX_CLAUSES} clauses")
    if depth > MAX_DEPTH:
        raise RuleError(path, f"clauses nest at most {MAX_DEPTH} deep")
    if not isinstance(doc, dict) or not doc:
        raise RuleError(path, "a clause is an object: all, any, not, field, attribute, …")
    if "all" in doc or "any" in doc:
        kind = "all" if "all" in doc else "any"
        _only(doc, path, {kind})
        items = doc[kind]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{path}.{kind}", "a list of at least one clause")
        inner = (
            _clause(d, f"{path}.{kind}[{i}]", schema, depth + 1, counter)
            for i, d in enumerate(items)
        )
        return Group(path, kind, tuple(inner))
    if "not" in doc:
        _only(doc, path, {"not"})
        return Group(path, "not", (_clause(doc["not"], f"{path}.not", schema, depth + 1, counter),))
    if "field" in doc:
        return _field(doc, path)
    if "attribute" in doc:
        return _attribute(doc, path, schema)
    if "consent" in doc:
        return _consent(doc, path)
    if "activity" in doc:
        return _activity(doc, path)
    raise RuleError(
        path,
        f"unknown clause {sorted(doc)[0]!r}: use all, any, not, field, "
        "attribute, consent or activity",
    )


def _only(doc: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    extra = sorted(set(doc) - allowed)
    if extra:
        raise RuleError(
            f"{path}.{extra[0]}", f"unknown key here (allowed: {', '.join(sorted(allowed))})"
        )


def _field(doc: Mapping[str, Any], path: str) -> Compare:
    _only(doc, path, {"field", "op", "value"})
    name = doc["field"]
    if name not in FIELDS:
        raise RuleError(
            f"{path}.field", f"{name!r} is no field of the 360 (one of {', '.join(FIELDS)})"
        )
    op = _op(doc, path)
    value = _value(doc, path, op)
    if op != "exists":
        _check_typed(FIELDS[name], op, value, f"{path}.value")
    return Compare(path, "field", name, op, value)


def _attribute(
    doc: Mapping[str, Any], path: str, schema: Mapping[str, Definition] | None
) -> Compare:
    _only(doc, path, {"attribute", "op", "value"})
    name = doc["attribute"]
    if schema is None:
        return Compare(path, "attribute", name, doc["op"], _value(doc, path, doc["op"]))
    definition = schema.get(name) if isinstance(name, str) else None
    if definition is None:
        raise RuleError(
            f"{path}.attribute",
            f"{name!r} is not a declared attribute (see /v1/profile/attributes)",
        )
    op = _op(doc, path)
    value = _value(doc, path, op)
    if op == "exists":
        return Compare(path, "attribute", name, op)
    if op == "contains" and definition.type != "list":
        raise RuleError(
            f"{path}.op", f"contains needs a list attribute; {name} is a {definition.type}"
        )
    if op in ORDERED and definition.type not in ("number", "date"):
        raise RuleError(f"{path}.op", f"{op} needs a number or date; {name} is a {definition.type}")
    scalar = Definition(name, "string") if definition.type == "list" else definition
    for item in value if op == "in" else [value]:
        problem = fault(scalar, item)
        if problem:
            raise RuleError(f"{path}.value", f"{name} {problem}")
    return Compare(path, "attribute", name, op, value)


def _op(doc: Mapping[str, Any], path: str) -> str:
    op = doc.get("op")
    if op not in OPS:
        raise RuleError(f"{path}.op", f"{op!r} is no operator (one of {', '.join(OPS)})")
    return str(op)


def _value(doc: Mapping[str, Any], path: str, op: str) -> Any:
    if op == "exists":
        if "value" in doc:
            raise RuleError(f"{path}.value", "exists takes no value")
        return None
    if "value" not in doc:
        raise RuleError(f"{path}.value", f"{op} needs a value")
    value = doc["value"]
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN:
            raise RuleError(f"{path}.value", f"in needs a list of 1 to {MAX_IN} values")
        return tuple(value)
    return value


def _check_typed(kind: str, op: str, value: Any, path: str) -> None:
    """A 360 field's or a property's value: a text or a number as the fact is."""
    if op == "contains":
        raise RuleError(path, "contains applies to list attributes only")
    for item in value if op == "in" else [value]:
        number = isinstance(item, int | float) and not isinstance(item, bool)
        ok = {
            "text": isinstance(item, str) and len(item) <= 200,
            "number": number,
            "scalar": number or isinstance(item, str | bool),
        }[kind]
        if not ok or (op in ORDERED and not (number or isinstance(item, str))):
            raise RuleError(path, f"{item!r} is not a {kind} value")


def _consent(doc: Mapping[str, Any], path: str) -> Consent:
    _only(doc, path, {"consent"})
    wanted = doc["consent"]
    if not isinstance(wanted, dict) or set(wanted) != {"channel", "purpose"}:
        raise RuleError(f"{path}.consent", "an object with channel and purpose")
    if wanted["channel"] not in CHANNELS:
        raise RuleError(f"{path}.consent.channel", f"one of {', '.join(CHANNELS)}")
    if wanted["purpose"] not in PURPOSES:
        raise RuleError(f"{path}.consent.purpose", f"one of {', '.join(PURPOSES)}")
    return Consent(path, wanted["channel"], wanted["purpose"])


def _activity(doc: Mapping[str, Any], path: str) -> Activity:
    _only(doc, path, {"activity", "within_days", "at_least", "at_most", "where"})
    kind = doc["activity"]
    if kind not in ACTIVITIES:
        raise RuleError(
            f"{path}.activity", f"{kind!r} is no activity (one of {', '.join(ACTIVITIES)})"
        )
    days = _count(doc, "within_days", path, None, 1, MAX_DAYS)
    at_least = _count(doc, "at_least", path, 0 if "at_most" in doc else 1, 0, 10_000)
    at_most = _count(doc, "at_most", path, None, 0, 10_000) if "at_most" in doc else None
    if at_most is not None and at_most < at_least:
        raise RuleError(f"{path}.at_most", "at_most below at_least: no customer could match")
    where = doc.get("where", [])
    if not isinstance(where, list) or len(where) > 10:
        raise RuleError(f"{path}.where", "a list of at most 10 property conditions")
    return Activity(
        path,
        kind,
        days,
        at_least,
        at_most,
        tuple(_property(w, f"{path}.where[{i}]") for i, w in enumerate(where)),
    )


def _count(
    doc: Mapping[str, Any], key: str, path: str, default: int | None, low: int, high: int
) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RuleError(f"{path}.{key}", f"a whole number from {low} to {high}")
    return value


def _property(doc: Any, path: str) -> Compare:
    if not isinstance(doc, dict) or not isinstance(doc.get("property"), str):
        raise RuleError(path, "a condition is an object with property, op and value")
    _only(doc, path, {"property", "op", "value"})
    op = _op(doc, path)
    value = _value(doc, path, op)
    if op != "exists":
        _check_typed("scalar", op, value, f"{path}.value")
    return Compare(path, "property", doc["property"][:64], op, value)
