"""Bounded strings for payloads: every string, list and dict an event carries has a limit.

Why: an unbounded field lets one event outgrow what the broker takes, and a
record Kafka refuses blocks the outbox behind it. The limits are generous for
real data (a name, a reference, a complaint's text) and, together with
``shared.events.envelope.MAX_ENVELOPE_BYTES``, keep every event far below the
broker's message size. Types partners post carry patterns too; types only
services write carry lengths alone, so a newer service's value never makes an
older consumer dead-letter the event.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

NUL = "\x00"


def no_nul(value: str) -> str:
    """Refuse NUL characters: PostgreSQL cannot store them in text."""
    if NUL in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


# What partners post.
# Patterns spell their classes out: ``\w`` and ``\s`` mean ASCII to JSON Schema (ECMA-262,
# the schema's dialect) but Unicode to pydantic, so an API using them would accept texts
# its own schema refuses.
REF_PATTERN = r"^[A-Za-z0-9_.:/@#+-]+$"
_NOT_IN_EMAIL = r"@\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
EMAIL_PATTERN = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}]+$"
Ref = Annotated[str, Field(min_length=1, max_length=128, pattern=REF_PATTERN)]
Label = Annotated[str, Field(min_length=1, max_length=64)]
SourceName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
AttributeName = Annotated[str, Field(min_length=1, max_length=64)]
LongText = Annotated[str, Field(max_length=10_000)]

MAX_ATTRIBUTE_TEXT = 1_000
# Integers that survive a round trip through any JSON reader (IEEE-754 doubles).
MAX_SAFE_INTEGER = 2**53 - 1

# What services write.
Id = Annotated[str, Field(max_length=64)]
Name = Annotated[str, Field(max_length=128)]
Note = Annotated[str, Field(max_length=1_000)]
EntryRef = Annotated[str, Field(max_length=400)]


def _whole(value: Any) -> Any:
    """A float without a fractional part is that integer (JSON Schema says 1.0 is an
    integer); anything else goes on to the strict check, which refuses texts and booleans."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**63:
        return int(value)
    return value


# An integer as JSON Schema means one, for request bodies: 3 or 3.0 (with StrictInt, never
# "3", true or 3.5). Put it after a field's bounds, ``Annotated[StrictInt, Field(ge=0),
# WHOLE]``, so the bounds stay in the schema (minimum, maximum), not behind the validator.
WHOLE = BeforeValidator(_whole)

# A request's free text (no NUL, which the database would refuse with a 500); the schema
# says so too, so a client (or a test generator) knows before sending.
NO_NUL_PATTERN = r"^[^\x00]*$"
Text = Annotated[str, AfterValidator(no_nul), Field(json_schema_extra={"pattern": NO_NUL_PATTERN})]
