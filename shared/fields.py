"""How a validation failure names what is wrong: each field by its dotted path, with
pydantic's message, and a one-line summary for a problem's detail or a log line.

One way everywhere (events at the edge, payloads on the bus, rule files, request
bodies), so a partner, an operator and a developer read the same names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

FieldError = dict[str, str]  # {"field": "data.score", "message": "…"}


def path(location: Sequence[Any], prefix: str = "") -> str:
    """A location as a dotted path: ``("data", "items", 0, "sku")`` → ``data.items.0.sku``."""
    return prefix + ".".join(str(part) for part in location)


def field_errors(errors: Iterable[Any], prefix: str = "") -> list[FieldError]:
    """Pydantic's errors (``ValidationError.errors()``) as field and message pairs."""
    return [{"field": path(e.get("loc", ()), prefix), "message": e["msg"]} for e in errors]


def summary(fields: Sequence[FieldError], whole: str, limit: int | None = 5) -> str:
    """``field: message; …`` for the first ``limit`` fields (``whole`` names an error of
    the whole value, which has no path)."""
    shown = fields if limit is None else fields[:limit]
    return "; ".join(f"{f['field'] or whole}: {f['message']}" for f in shown)
