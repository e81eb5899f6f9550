"""Query parameter types that read a text exactly as the contract writes it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Strict

_BOOLEANS = {"true": True, "false": False}


def _boolean_text(value: Any) -> Any:
    return _BOOLEANS.get(value, value) if isinstance(value, str) else value


# ``true`` or ``false``, as the schema's boolean is written in a query; the parser alone
# would also read 1, yes, on or t, which a generated client never sends.
Flag = Annotated[bool, Strict(), BeforeValidator(_boolean_text)]
