"""The base of every event payload."""

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """A frozen, typed event payload. Unknown fields are ignored, so adding a field
    to a payload is not a breaking change; removing or retyping one is a new ``.vN``."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class DecodeError(ValueError):
    """A message or payload we cannot read; the text says why, for the dead-letter topic."""
