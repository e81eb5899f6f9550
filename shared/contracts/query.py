"""Parameter types that read a text exactly as the contract writes it."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict, WithJsonSchema

_BOOLEANS = {"true": True, "false": False}


def _boolean_text(value: Any) -> Any:
    return _BOOLEANS.get(value, value) if isinstance(value, str) else value


# ``true`` or ``false``, as the schema's boolean is written in a query; the parser alone
# would also read 1, yes, on or t, which a generated client never sends.
Flag = Annotated[bool, Strict(), BeforeValidator(_boolean_text)]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuid_text(value: Any) -> Any:
    if isinstance(value, str) and not _UUID.fullmatch(value):
        raise ValueError(
            "an id is a UUID written 8-4-4-4-12, e.g. 7c9e6679-7425-40de-944b-e07fc1f90ae7"
        )
    return value


# An id in a path, written as RFC 9562 (and the schema's format: uuid) writes it; the parser
# alone would also read 32 bare hex digits, braces or a urn:uuid: prefix.
Id = Annotated[
    uuid.UUID, BeforeValidator(_uuid_text), WithJsonSchema({"type": "string", "format": "uuid"})
]
