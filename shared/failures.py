"""Why a handler failed, whose fault it is, and how to say so without leaking data.

A consumer treats an error by its kind (``classify``):

- **transient**: the database or the bus is away (a lost connection, a timeout,
  PostgreSQL shutting down or out of resources, a deadlock or serialization
  failure between replicas, a Kafka error aiokafka calls retriable). Not the
  message's fault: the batch waits, in hand, until it can be applied; it is
  never dead-lettered.
- **poison**: deterministic and caused by the message. The same event fails the
  same way on every attempt, so retrying only delays every event behind it (one
  tenant's overflowing sums once held another's events for minutes). It is
  isolated and dead-lettered at once. These are: a data exception or an
  integrity violation from the database (SQLSTATE classes 22 and 23, which is
  what SQLAlchemy's ``DataError`` and ``IntegrityError`` carry, and asyncpg's
  "value out of int64 range"); SQLite's ``integer overflow`` and Python's
  ``OverflowError`` (a sum past BIGINT); any ``ArithmeticError`` or
  ``ValueError`` from the domain, pydantic's ``ValidationError`` among them: the
  domain raises those on values it cannot accept. An integrity violation may
  also come from a race between two replicas (``is_conflict``), which is why
  the suspect is always applied once more on its own before it is dead-lettered.
- **unknown**: anything else, a bug most often: retried a few times, then
  isolated and dead-lettered.

``describe`` gives the error's class, its SQLSTATE or code and a short message
that holds no data: never a ``repr``, never SQL or its parameters (those carry
names, e-mails, complaint text), never the server's message for a database
error (PostgreSQL quotes the offending value). It goes into dead-letter headers
and logs alike.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator

from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError

from shared.fields import path

TRANSIENT = (OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError)

_POISON_SQLSTATE = ("22", "23")  # data exception, integrity constraint violation
# connection exception, transaction rollback (serialization, deadlock),
# insufficient resources, operator intervention (shutdown)
_TRANSIENT_SQLSTATE = ("08", "40", "53", "57")
_POISON = (DataError, IntegrityError, ArithmeticError, ValueError, sqlite3.IntegrityError)
_MESSAGE_CHARS = 160


class Kind(enum.Enum):
    TRANSIENT = "transient"
    POISON = "poison"
    UNKNOWN = "unknown"


def classify(error: BaseException) -> Kind:
    """Whether ``error`` is the infrastructure's, the message's, or unknown."""
    chain = list(_chain(error))
    codes = [c for c in (_sqlstate(e) for e in chain) if c]
    if any(c.startswith(_POISON_SQLSTATE) for c in codes) or any(_poison(e) for e in chain):
        return Kind.POISON
    if any(c.startswith(_TRANSIENT_SQLSTATE) for c in codes) or isinstance(error, TRANSIENT):
        return Kind.TRANSIENT
    if getattr(error, "retriable", False) is True:  # the bus says so (aiokafka's errors)
        return Kind.TRANSIENT
    return Kind.UNKNOWN


def is_conflict(error: BaseException) -> bool:
    """Whether ``error`` violates a constraint (SQLSTATE class 23): the message's doing,
    or a race with another replica that a second attempt would not lose."""
    chain = list(_chain(error))
    return any(isinstance(e, IntegrityError | sqlite3.IntegrityError) for e in chain) or any(
        (_sqlstate(e) or "").startswith("23") for e in chain
    )


def _poison(error: BaseException) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return "integer overflow" in str(error)
    return isinstance(error, _POISON)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what it explicitly wraps (SQLAlchemy's ``orig``, ``raise ... from``);
    not the implicit context, which may be an unrelated error being handled."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _sqlstate(error: BaseException) -> str | None:
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else None


def cause_name(error: BaseException) -> str:
    """The most telling class name: the database driver's own error
    (``NumericValueOutOfRangeError``, ``UniqueViolationError``) over SQLAlchemy's wrapper.
    A short, bounded label for metrics."""
    chain = list(_chain(error))
    coded = [e for e in chain if _sqlstate(e)]
    if coded:
        return type(coded[-1]).__name__
    return type(chain[-1] if _wrapper(error) else error).__name__


def describe(error: BaseException) -> str:
    """Class, SQLSTATE or code, and a short message free of data (see the module)."""
    chain = list(_chain(error))
    codes = [c for c in (_sqlstate(e) for e in chain) if c]
    name = cause_name(error)
    if codes:
        root = chain[-1]
        detail = _schema_names(chain) or (
            type(root).__name__ if type(root).__module__ == "builtins" else ""
        )
        return f"{name} (SQLSTATE {codes[-1]}){f': {detail}' if detail else ''}"
    if isinstance(error, ValidationError):
        where = ", ".join(
            f"{path(e['loc']) or 'value'}: {e['type']}"  # the type, never a message with values
            for e in error.errors()[:3]
        )
        return f"ValidationError: {error.error_count()} error(s) ({where})"
    root = chain[-1]
    if _wrapper(error):  # SQLAlchemy's text holds the SQL and its parameters
        if isinstance(root, sqlite3.Error | OverflowError):  # their texts hold no values
            return f"{name}: {_short(root)}"
        return name
    return f"{name}: {_short(error)}" if str(error) else name


def _wrapper(error: BaseException) -> bool:
    return type(error).__module__.startswith("sqlalchemy")


def _schema_names(chain: list[BaseException]) -> str:
    """The constraint, table and column PostgreSQL names: schema, not data."""
    for error in reversed(chain):
        names = [
            f"{label} {value}"
            for label in ("constraint", "table", "column")
            if isinstance(value := getattr(error, f"{label}_name", None), str)
        ]
        if names:
            return ", ".join(names)
    return ""


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:_MESSAGE_CHARS] if str(error) else type(error).__name__
