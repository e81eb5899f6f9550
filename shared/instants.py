"""Instants that come in from outside: aware, bounded, and in UTC once validated.

Every time a client sends (a query's ``as_of``, ``from`` or ``to``, a body's
``as_of``, an event's ``occurred_at``) is an ``Instant``: an RFC 3339 text
that carries its UTC offset and whose year, as written, lies in [1900, 2100].
The bounds are wider than any real customer history and narrow enough that no
arithmetic on them (a window of 30 days before, a conversion to UTC, a
database's timestamp range) can overflow: year 1 with ``+01:00`` or year 9999
with ``-01:00`` is a valid ISO string whose UTC value Python cannot represent,
and used to answer 500 where it now answers 422.

The rule is one regular expression, ``INSTANT_PATTERN``, published as the
schema's ``pattern``: every text it matches is accepted (it spells out the
days of each month and the leap years), and every other text is refused, so
the OpenAPI contract and the API agree on each value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, WithJsonSchema

MIN_YEAR = 1900
MAX_YEAR = 2100

_YEAR = r"(?:19[0-9]{2}|20[0-9]{2}|2100)"
# 1900 and 2100 are not leap years; 2000 is.
_LEAP_YEAR = r"(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:[02468][048]|[13579][26]))"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
INSTANT_PATTERN = rf"^{_DATE}T{_TIME}{_OFFSET}$"
_INSTANT = re.compile(rf"{_DATE}T{_TIME}{_OFFSET}")
EXAMPLE = "2026-11-20T10:15:00Z"
DESCRIPTION = (
    f"RFC 3339 with a UTC offset (Z or ±hh:mm), at most microseconds, between the years "
    f"{MIN_YEAR} and {MAX_YEAR}"
)


class InstantError(ValueError):
    """An instant we cannot accept; the text says what to send instead."""


def bounded(value: datetime) -> datetime:
    """``value`` in UTC, if it carries an offset and its year lies within [1900, 2100]
    (as written: within those years the conversion to UTC cannot overflow)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError(f"an instant must carry its UTC offset, e.g. {EXAMPLE}")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InstantError(f"an instant must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return value.astimezone(UTC)


def _instant_text(value: Any) -> Any:
    """A sent instant is a text matching ``INSTANT_PATTERN`` (a datetime built in Python
    passes as it is): the parser alone would also take a bare number of seconds, a
    lower-case ``t`` or a missing offset, which the contract does not."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        raise InstantError(f"send an instant as {DESCRIPTION}, e.g. {EXAMPLE}")
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_instant_text),
    AfterValidator(bounded),
    # No example in the schema: whether an instant is accepted may depend on now (an event's
    # age, a key's expiry, a model's as_of), and a fixed example would age out of it.
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": INSTANT_PATTERN,
            "description": DESCRIPTION,
        }
    ),
]
"""An aware datetime within [1900, 2100], converted to UTC at validation."""
