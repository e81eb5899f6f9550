"""Keyset cursors: the position after the last row of a page, opaque to clients.

A cursor is the last row's (instant, id), base64url-encoded. A client may
send anything back, so decoding checks everything: the base64, the text, the
instant (aware and bounded, see ``shared.instants``) and the id. Whatever a
cursor holds that we would not have given out is an ``InvalidCursor``, which
the routes answer with 422 ``invalid-cursor``, never a 500 from a query fed a
time the database cannot hold.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from shared.instants import InstantError, parse_instant
from shared.problems import Problem


class InvalidCursor(ValueError):
    """A cursor we did not give out."""


def encode_keyset(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_keyset(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (instant in UTC, id) a cursor of ``encode_keyset`` holds (raises ``InvalidCursor``)."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
        at, separator, row_id = text.partition("|")
        if not separator:
            raise InvalidCursor("no separator")
        return parse_instant(at), uuid.UUID(row_id)
    except (UnicodeError, binascii.Error, InstantError, ValueError) as error:
        raise InvalidCursor(str(error)) from error


def decode_id(cursor: str) -> uuid.UUID:
    """The id a plain id cursor holds (raises ``InvalidCursor``)."""
    try:
        return uuid.UUID(cursor)
    except ValueError as error:
        raise InvalidCursor(str(error)) from error


def invalid_cursor() -> Problem:
    return Problem(
        422,
        "invalid-cursor",
        "The cursor is not one this list gave out: pass back the next_cursor of a page, "
        "or leave it out to start from the first page.",
    )
