"""Keyset cursors: the position after the last row of a page, opaque to clients.

A cursor is a position, and any position is a valid place to resume, so every
text a cursor's pattern matches is one the API accepts (the OpenAPI contract
publishes the pattern, and a generated client can hold it to it):

- a keyset cursor (``KEYSET_PATTERN``) is the last row's instant as 16 digits of
  microseconds since 1800-01-01T00:00Z (so any digits name an instant between
  1800 and 2116, which Python and both databases hold and compare) and, after a
  ``.``, its id as 32 hexadecimal digits;
- an id cursor (``ID_PATTERN``) is the last row's id, a UUID in its usual form.

A text that does not match is refused by the route's validation (422 naming
``query.cursor``) before any query runs. Cursors of the earlier base64 form are
refused the same way: start again from the first page.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query

EPOCH = datetime(1800, 1, 1, tzinfo=UTC)
_DIGITS = 16
KEYSET_PATTERN = r"^[0-9]{16}\.[0-9a-f]{32}$"
ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_KEYSET = re.compile(KEYSET_PATTERN.strip("^$"))
_ID = re.compile(ID_PATTERN.strip("^$"))
_HELP = "The next_cursor of the previous page; leave it out for the first page."


class InvalidCursor(ValueError):
    """A text that is not a cursor of this form (the route's pattern refuses it first)."""


def encode_keyset(at: datetime, row_id: uuid.UUID) -> str:
    """The position just after a row ordered by (``at``, ``row_id``)."""
    since = at.astimezone(UTC) - EPOCH
    micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
    if not 0 <= micros < 10**_DIGITS:
        raise ValueError(f"{at.isoformat()} lies outside the instants a cursor can name")
    return f"{micros:0{_DIGITS}d}.{row_id.hex}"


def decode_keyset(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (instant in UTC, id) a keyset cursor names (raises ``InvalidCursor``)."""
    if not _KEYSET.fullmatch(cursor):
        raise InvalidCursor("not a keyset cursor")
    micros, row_id = cursor.split(".")
    return EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=row_id)


def decode_id(cursor: str) -> uuid.UUID:
    """The id an id cursor names (raises ``InvalidCursor``)."""
    if not _ID.fullmatch(cursor):
        raise InvalidCursor("not an id cursor")
    return uuid.UUID(cursor)


def keyset_cursor() -> object:
    """The ``cursor`` query parameter of a list paged by (instant, id)."""
    return Query(pattern=KEYSET_PATTERN, description=_HELP, examples=[_EXAMPLE_KEYSET])


def id_cursor() -> object:
    """The ``cursor`` query parameter of a list paged by id."""
    return Query(pattern=ID_PATTERN, description=_HELP, examples=[str(uuid.UUID(int=1))])


_EXAMPLE_KEYSET = encode_keyset(datetime(2026, 11, 20, 10, 15, tzinfo=UTC), uuid.UUID(int=1))

KeysetCursor = Annotated[str | None, keyset_cursor()]
IdCursor = Annotated[str | None, id_cursor()]
