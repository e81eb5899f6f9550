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

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema

NUL = "\x00"


def no_nul(value: str) -> str:
    """Refuse NUL characters: PostgreSQL cannot store them in text."""
    if NUL in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


# What partners post.
Ref = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:/@#+-]+$")]
Label = Annotated[str, Field(min_length=1, max_length=64)]
SourceName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
AttributeName = Annotated[str, Field(min_length=1, max_length=64)]
LongText = Annotated[str, Field(max_length=10_000)]

MAX_ATTRIBUTE_TEXT = 1_000
# Integers that survive a round trip through any JSON reader (IEEE-754 doubles).
MAX_SAFE_INTEGER = 2**53 - 1


def _attribute_value(value: Any) -> str | int | bool:
    """One check for the three kinds, so an error names the attribute, not a union member."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"an integer attribute lies within ±{MAX_SAFE_INTEGER}")
        return value
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_TEXT:
            raise ValueError(f"a text attribute has at most {MAX_ATTRIBUTE_TEXT} characters")
        return value
    raise ValueError("an attribute is a string, an integer or a boolean")


AttributeValue = Annotated[
    str | int | bool,
    PlainValidator(_attribute_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_ATTRIBUTE_TEXT},
                {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
                {"type": "boolean"},
            ]
        }
    ),
]

# What services write.
Id = Annotated[str, Field(max_length=64)]
Name = Annotated[str, Field(max_length=128)]
Note = Annotated[str, Field(max_length=1_000)]
EntryRef = Annotated[str, Field(max_length=400)]

# A request's free text (no NUL, which the database would refuse with a 500).
Text = Annotated[str, AfterValidator(no_nul)]
