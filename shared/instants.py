"""Instants that come in from outside: aware, bounded, and in UTC once validated.

Every time a client sends (a query's ``as_of``, ``from`` or ``to``, a body's
``as_of``, an event's ``occurred_at``, the instant inside a cursor) is an
``Instant``: it must carry its UTC offset, and its year must lie in
[1900, 2100]. The bounds are wider than any real customer history and narrow
enough that no arithmetic on them (a window of 30 days before, a conversion to
UTC, a database's timestamp range) can overflow: year 1 with ``+01:00`` or
year 9999 with ``-01:00`` is a valid ISO string whose UTC value Python cannot
represent, and used to answer 500 where it now answers 422.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

MIN_YEAR = 1900
MAX_YEAR = 2100


class InstantError(ValueError):
    """An instant we cannot accept; the text says what to send instead."""


def bounded(value: datetime) -> datetime:
    """``value`` in UTC, if it carries an offset and lies within [1900, 2100]."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError("an instant must carry its UTC offset, e.g. 2026-11-20T10:15:00Z")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise InstantError(f"an instant must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return utc


def parse_instant(text: str) -> datetime:
    """An RFC 3339 text as a bounded UTC instant (raises ``InstantError``)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise InstantError(f"'{text[:40]}' is not an RFC 3339 instant") from error
    return bounded(value)


Instant = Annotated[
    AwareDatetime,
    AfterValidator(bounded),
    Field(
        description=f"RFC 3339 with a UTC offset, between the years {MIN_YEAR} and {MAX_YEAR}",
        examples=["2026-11-20T10:15:00Z"],
    ),
]
"""An aware datetime within [1900, 2100], converted to UTC at validation."""
