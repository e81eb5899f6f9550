"""Custom attributes: what a tenant declares, and what a customer's record may hold.
Plain Python, no I/O.

The rules, and why:

1. **A tenant declares its attributes** (name, type, description, whether they hold
   personal data); a value is kept only for a declared name and only of its type, so
   every reader (the 360, segments, loyalty's birthday bonus) can trust a value's
   type without checking it again.
2. **A name keeps its type for good.** Removing a declaration hides its values (they
   stay in the records and come back if the name is declared again with the same
   type); declaring it with another type is refused, since old values of the old
   type would then lie about it.
3. **Writes are JSON merge patches** (RFC 7396): a named value replaces the old one,
   ``null`` removes it, a name left out keeps its value. Through the API a bad name or
   value refuses the whole patch, naming each (422); from a partner event, which
   cannot be answered, the good values are kept and the bad ones dropped and counted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

AttributeType = Literal["string", "number", "boolean", "date", "list"]
TYPES: tuple[str, ...] = get_args(AttributeType)
MAX_TEXT = 1_000
MAX_LIST_ITEMS = 50
MAX_LIST_ITEM = 200
MAX_NUMBER = 1e15
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
NUL = "\x00"  # PostgreSQL keeps no NUL in text or JSONB
Patch = Mapping[str, Any]


@dataclass(frozen=True)
class Definition:
    """One declared attribute of a tenant."""

    name: str
    type: AttributeType
    description: str = ""
    personal_data: bool = False


Schema = Mapping[str, Definition]  # the declared (not removed) attributes, by name


class InvalidAttributes(ValueError):
    """A patch or a schema with faults; ``errors`` names each (field, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))
        self.errors = errors


def fault(definition: Definition | None, value: Any) -> str | None:
    """What is wrong with ``value`` for this attribute, or None if it fits."""
    if definition is None:
        return "is not a declared attribute (declare it with PUT /v1/profile/attributes)"
    kind = definition.type
    if kind == "string":
        ok = isinstance(value, str) and len(value) <= MAX_TEXT and NUL not in value
        return None if ok else f"must be a text of at most {MAX_TEXT} characters, without NUL"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and abs(value) <= MAX_NUMBER
        return None if ok else f"must be a number within ±{MAX_NUMBER:.0e}"
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "date":
        return None if _is_date(value) else "must be a date written YYYY-MM-DD"
    ok = isinstance(value, list) and len(value) <= MAX_LIST_ITEMS
    ok = ok and all(isinstance(v, str) and len(v) <= MAX_LIST_ITEM and NUL not in v for v in value)
    return None if ok else f"must be a list of at most {MAX_LIST_ITEMS} texts"


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def checked(schema: Schema, patch: Patch) -> dict[str, Any]:
    """The patch, if every name is declared and every value fits its type (``null``
    removes a value); else ``InvalidAttributes`` naming each fault."""
    errors = [
        (name, problem)
        for name, value in patch.items()
        if (problem := _patch_fault(schema, name, value))
    ]
    if errors:
        raise InvalidAttributes(errors)
    return dict(patch)


def accepted(schema: Schema, patch: Patch) -> tuple[dict[str, Any], list[str]]:
    """The part of a partner's patch that fits the schema, and the names dropped."""
    kept = {n: v for n, v in patch.items() if _patch_fault(schema, n, v) is None}
    return kept, sorted(set(patch) - set(kept))


def _patch_fault(schema: Schema, name: str, value: Any) -> str | None:
    if value is None:
        return None if name in schema else fault(None, value)
    return fault(schema.get(name), value)


def merged(current: Mapping[str, Any], patch: Patch) -> dict[str, Any]:
    """``current`` with the merge patch applied: ``null`` removes, a value replaces."""
    result = dict(current)
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def changed_names(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The names whose value differs (appeared, went or changed), sorted."""
    return sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))


def visible(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the attributes declared now (a removed one's stay hidden)."""
    return {n: v for n, v in values.items() if n in schema}


def replacement(
    known: Mapping[str, AttributeType], declared: Iterable[Definition]
) -> list[Definition]:
    """The new schema, checked: no name ever declared (``known``, removed ones included)
    given another type (the API bounds the number and keeps names unique)."""
    definitions = list(declared)
    errors: list[tuple[str, str]] = []
    for d in definitions:
        was = known.get(d.name)
        if was is not None and was != d.type:
            errors.append((d.name, f"was declared a {was}; a name keeps its type for good"))
    if errors:
        raise InvalidAttributes(errors)
    return definitions
