"""Handler errors by kind (transient, poison, unknown), described without data."""

from __future__ import annotations

import decimal
import sqlite3

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from shared.events import DecodeError
from shared.failures import Kind, cause_name, classify, describe, is_conflict

SQL = "INSERT INTO customer (email, name) VALUES ($1, $2)"
PARAMS = ("alice@example.com", "Alice Martin")


class _DriverError(Exception):
    """What asyncpg raises: a class per SQLSTATE, with schema names."""

    def __init__(self, message: str, sqlstate: str, **names: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        for label, value in names.items():
            setattr(self, label, value)


class NumericValueOutOfRangeError(_DriverError):
    pass


class UniqueViolationError(_DriverError):
    pass


class AdminShutdownError(_DriverError):
    pass


def wrapped(kind: type[DBAPIError], driver: BaseException) -> DBAPIError:
    """The error as SQLAlchemy raises it: the statement and parameters in its text."""
    return kind(SQL, PARAMS, driver)  # type: ignore[arg-type]


class _Order(BaseModel):
    amount_minor: int = Field(le=10)


def _validation_error() -> ValidationError:
    try:
        _Order(amount_minor=10**13)
    except ValidationError as error:
        return error
    raise AssertionError("no error")


OVERFLOW = wrapped(
    DBAPIError, NumericValueOutOfRangeError('value "alice" out of range', "22003")
)  # PostgreSQL's text quotes the value
UNIQUE = wrapped(
    IntegrityError,
    UniqueViolationError(
        "duplicate key: Key (email)=(alice@example.com) already exists",
        "23505",
        constraint_name="identity_pkey",
        table_name="identity",
    ),
)


@pytest.mark.parametrize(
    "error",
    [
        OVERFLOW,
        UNIQUE,
        wrapped(DataError, sqlite3.DataError("bad")),
        wrapped(IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: identity.value")),
        wrapped(OperationalError, sqlite3.OperationalError("integer overflow")),
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        ZeroDivisionError("division by zero"),
        decimal.InvalidOperation(),
        ValueError("'XXX' is not an ISO 4217 currency code"),
        DecodeError("invalid crm.activity.purchase_completed.v1 data"),
        _validation_error(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_the_message_causes_are_poison(error):
    assert classify(error) is Kind.POISON


@pytest.mark.parametrize(
    "error",
    [
        wrapped(OperationalError, sqlite3.OperationalError("database is locked")),
        wrapped(InterfaceError, Exception("connection is closed")),
        wrapped(DBAPIError, AdminShutdownError("terminating connection", "57P01")),
        wrapped(DBAPIError, _DriverError("deadlock detected", "40P01")),
        ConnectionRefusedError(),
        TimeoutError(),
        KafkaConnectionError(),
    ],
    ids=[
        "sqlite-locked",
        "connection-closed",
        "admin-shutdown",
        "deadlock",
        "refused",
        "timeout",
        "kafka-away",
    ],
)
def test_errors_of_the_infrastructure_are_transient(error):
    assert classify(error) is Kind.TRANSIENT


@pytest.mark.parametrize(
    "error",
    [RuntimeError("a bug"), KeyError("x"), wrapped(DBAPIError, _DriverError("syntax", "42601"))],
    ids=["runtime", "key", "syntax"],
)
def test_anything_else_is_unknown(error):
    assert classify(error) is Kind.UNKNOWN


def test_an_error_raised_while_another_was_handled_is_judged_on_its_own():
    try:
        try:
            raise ValueError("the first problem")
        except ValueError:
            raise RuntimeError("the second") from None
    except RuntimeError as error:
        assert classify(error) is Kind.UNKNOWN


def test_a_database_error_names_the_driver_class_and_sqlstate_but_no_value_or_sql():
    assert describe(OVERFLOW) == "NumericValueOutOfRangeError (SQLSTATE 22003)"
    assert describe(UNIQUE) == (
        "UniqueViolationError (SQLSTATE 23505): constraint identity_pkey, table identity"
    )
    assert cause_name(OVERFLOW) == "NumericValueOutOfRangeError"


@pytest.mark.parametrize("error", [OVERFLOW, UNIQUE], ids=["overflow", "unique"])
def test_no_description_carries_sql_parameters_or_the_server_text(error):
    text = describe(error)
    assert "alice" not in text.lower() and "INSERT" not in text and "Martin" not in text


def test_sqlite_and_overflow_texts_hold_no_values_and_are_kept():
    sqlite_overflow = wrapped(OperationalError, sqlite3.OperationalError("integer overflow"))
    assert describe(sqlite_overflow) == "OperationalError: integer overflow"
    assert describe(OverflowError("int too big to convert")) == (
        "OverflowError: int too big to convert"
    )


def test_a_validation_error_names_fields_and_error_types_not_input():
    text = describe(_validation_error())
    assert text == "ValidationError: 1 error(s) (amount_minor: less_than_equal)"
    assert str(10**13) not in text


def test_other_errors_keep_a_short_first_line():
    assert describe(RuntimeError("a bug in the handler\nwith more")) == (
        "RuntimeError: a bug in the handler"
    )
    assert len(describe(RuntimeError("x" * 1000))) < 200


def test_only_constraint_violations_are_conflicts_a_second_look_may_clear():
    assert is_conflict(UNIQUE)
    assert is_conflict(wrapped(IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not is_conflict(OVERFLOW)
    assert not is_conflict(OverflowError())
