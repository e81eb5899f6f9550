"""Every value a published pattern allows is one the API accepts, and the rest are refused:
instants, cursors, references, e-mails, whole numbers and query flags."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.contracts.feedback import ResolutionRequest
from shared.contracts.loyalty import RedemptionRequest
from shared.contracts.query import Flag
from shared.cursors import ID_PATTERN, KEYSET_PATTERN, decode_id, decode_keyset, encode_keyset
from shared.events.activity import CustomerRef
from shared.events.bounds import EMAIL_PATTERN, REF_PATTERN
from shared.instants import INSTANT_PATTERN, Instant


class Window(BaseModel):
    at: Instant


@settings(max_examples=300)
@given(st.from_regex(INSTANT_PATTERN, fullmatch=True))
def test_every_instant_the_pattern_allows_is_accepted(text: str) -> None:
    assert Window.model_validate({"at": text}).at.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-20t10:15:00z", "1700000000",
     "2026-11-20T10:15:00", "2026-11-20T10:15:00.1234567Z", "2026-11-20T10:15:00+24:00",
     "2026-11-20T10:15:00Z\n"],
)  # fmt: skip
def test_an_instant_the_pattern_refuses_is_refused(text: str) -> None:
    assert not re.fullmatch(INSTANT_PATTERN.strip("^$"), text)
    with pytest.raises(ValidationError):
        Window.model_validate({"at": text})


def test_an_instant_is_bounded_by_its_written_year_so_the_schema_can_say_it() -> None:
    late = Window.model_validate({"at": "2100-12-31T23:59:59-23:59"}).at
    early = Window.model_validate({"at": "1900-01-01T00:00:00+14:00"}).at

    assert (late.year, early.year) == (2101, 1899)


@settings(max_examples=300)
@given(st.from_regex(KEYSET_PATTERN, fullmatch=True))
def test_every_keyset_cursor_the_pattern_allows_is_a_position(cursor: str) -> None:
    at, row_id = decode_keyset(cursor)

    assert encode_keyset(at, row_id) == cursor


@given(st.from_regex(ID_PATTERN, fullmatch=True))
def test_every_id_cursor_the_pattern_allows_is_a_position(cursor: str) -> None:
    assert str(decode_id(cursor)) == cursor


def test_a_keyset_cursor_names_its_row_to_the_microsecond() -> None:
    at = datetime(2026, 11, 20, 10, 15, 0, 123456, tzinfo=UTC)
    row_id = uuid.uuid4()

    assert decode_keyset(encode_keyset(at, row_id)) == (at, row_id)


@pytest.mark.parametrize("reference", ["C-1001", "pos:O/77#1", "a@b+c_d.e"])
def test_a_reference_of_the_published_class_is_accepted(reference: str) -> None:
    assert re.fullmatch(REF_PATTERN.strip("^$"), reference)
    assert CustomerRef(source="pos", external_id=reference).external_id == reference


@pytest.mark.parametrize("reference", ["Jöns-1", "²", "C 1", "C\u0301"])
def test_a_reference_outside_the_published_class_is_refused(reference: str) -> None:
    """``\\w`` reads ASCII in the schema (ECMA-262) and Unicode in pydantic; the class is
    spelled out, so the two agree."""
    with pytest.raises(ValidationError):
        CustomerRef(source="pos", external_id=reference)


SPACED = ["li\x85wei@example.com", "li\u00a0wei@example.com", "li\x1fwei@example.com",
          "li.wei@exa\u2003mple.com"]  # fmt: skip


@pytest.mark.parametrize("email", SPACED)
def test_an_email_with_a_space_or_control_of_any_reading_is_refused(email: str) -> None:
    assert not re.fullmatch(EMAIL_PATTERN.strip("^$"), email)
    with pytest.raises(ValidationError):
        CustomerRef(source="pos", external_id="C-1", email=email)


def test_a_whole_number_written_as_a_float_is_that_integer() -> None:
    """JSON Schema's integer includes 5.0; texts, booleans and fractions are not integers."""
    assert RedemptionRequest.model_validate_json('{"points": 5.0, "reason": "gift"}').points == 5
    assert (
        ResolutionRequest.model_validate_json(
            '{"resolution": "done", "compensation_points": 10.0}'
        ).compensation_points
        == 10
    )
    for points in ['"5"', "true", "5.5"]:
        with pytest.raises(ValidationError):
            RedemptionRequest.model_validate_json(f'{{"points": {points}, "reason": "gift"}}')


def test_a_query_flag_is_true_or_false_as_the_schema_writes_them() -> None:
    flag = TypeAdapter(Flag)

    assert (flag.validate_python("true"), flag.validate_python("false")) == (True, False)
    for text in ["1", "yes", "on", "t", "True"]:
        with pytest.raises(ValidationError):
            flag.validate_python(text)
