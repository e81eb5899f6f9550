"""Money and the activity payloads partners send: what is accepted, what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events.activity import (
    SURVEY_SCALES,
    CustomerRef,
    LineItem,
    OrderRefunded,
    PurchaseCompleted,
    SurveyResponded,
)
from shared.money import MAX_AMOUNT_MINOR, is_iso_currency, minor_unit_exponent

CURRENCIES = ["EUR", "USD", "CNY", "JPY", "KRW", "KWD", "BHD", "CLF"]


def _purchase(**changes: object) -> PurchaseCompleted:
    data = {"order_id": "O-77", "amount_minor": 129900, "currency": "CNY", "channel": "store"}
    return PurchaseCompleted.model_validate({**data, **changes})


def _ref(**changes: object) -> CustomerRef:
    return CustomerRef.model_validate({"source": "pos", "external_id": "C-1001", **changes})


@pytest.mark.parametrize("amount_minor", [0, 1, 129900, MAX_AMOUNT_MINOR])
def test_amount_minor_accepts_non_negative_integers(amount_minor):
    assert _purchase(amount_minor=amount_minor).amount_minor == amount_minor


@pytest.mark.parametrize(
    "amount_minor",
    [-1, 1299.0, 12.99, "129900", True, None, MAX_AMOUNT_MINOR + 1],
    ids=["negative", "whole-float", "float", "string", "bool", "null", "too-large"],
)
def test_amount_minor_refuses_anything_but_a_non_negative_integer(amount_minor):
    with pytest.raises(ValidationError) as raised:
        _purchase(amount_minor=amount_minor)

    assert raised.value.errors()[0]["loc"] == ("amount_minor",)


def test_line_item_amounts_follow_the_same_money_rule():
    with pytest.raises(ValidationError):
        LineItem(sku="SKU-1", amount_minor=-5)
    with pytest.raises(ValidationError):
        LineItem.model_validate({"sku": "SKU-1", "amount_minor": 9.99})


@pytest.mark.parametrize("currency", ["EUR", "CNY", "JPY", "KWD", "USD"])
def test_currency_accepts_iso_4217_codes(currency):
    assert _purchase(currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["XXY", "eur", "Eur", "EURO", "EU", "", "DEM"])
def test_currency_refuses_anything_but_an_active_iso_4217_code(currency):
    with pytest.raises(ValidationError, match="ISO 4217"):
        _purchase(currency=currency)
    assert not is_iso_currency(currency)


def test_refund_currency_is_optional_but_checked_when_given():
    assert OrderRefunded(order_id="O-1", amount_minor=100).currency is None
    with pytest.raises(ValidationError, match="ISO 4217"):
        OrderRefunded(order_id="O-1", amount_minor=100, currency="eur")


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("JPY", 0),
        ("KRW", 0),
        ("EUR", 2),
        ("CNY", 2),
        ("USD", 2),
        ("KWD", 3),
        ("BHD", 3),
        ("CLF", 4),
    ],
)
def test_minor_unit_exponent_follows_iso_4217(currency, exponent):
    assert minor_unit_exponent(currency) == exponent


def test_survey_scales_are_nps_0_10_csat_1_5_ces_1_7():
    assert SURVEY_SCALES == {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@given(survey=st.sampled_from(list(SURVEY_SCALES)), score=st.integers(min_value=-3, max_value=13))
def test_survey_score_is_accepted_exactly_within_its_scale(survey, score):
    low, high = SURVEY_SCALES[survey]

    if low <= score <= high:
        assert SurveyResponded(survey=survey, score=score).score == score
    else:
        with pytest.raises(ValidationError, match=f"between {low} and {high}"):
            SurveyResponded(survey=survey, score=score)


@pytest.mark.parametrize("score", [9.0, "9", None])
def test_survey_score_must_be_an_integer(score):
    with pytest.raises(ValidationError):
        SurveyResponded.model_validate({"survey": "nps", "score": score})


def test_survey_kind_must_be_nps_csat_or_ces():
    with pytest.raises(ValidationError):
        SurveyResponded.model_validate({"survey": "stars", "score": 3})


@pytest.mark.parametrize("email", ["li.wei@example.com", "Li.Wei+crm@mail.example.cn"])
def test_customer_ref_accepts_a_plausible_email(email):
    assert _ref(email=email).email == email


@pytest.mark.parametrize("email", ["li.wei", "li wei@example.com", "li@example", "@example.com"])
def test_customer_ref_refuses_a_malformed_email(email):
    with pytest.raises(ValidationError) as raised:
        _ref(email=email)

    assert raised.value.errors()[0]["loc"] == ("email",)


@pytest.mark.parametrize("phone", ["+8613800000000", "+4915112345678", "+1234567"])
def test_customer_ref_accepts_an_e164_phone(phone):
    assert _ref(phone=phone).phone == phone


@pytest.mark.parametrize(
    "phone", ["8613800000000", "+0613800000", "+86 138 0000 0000", "+123456", "+1234567890123456"]
)
def test_customer_ref_refuses_a_phone_that_is_not_e164(phone):
    with pytest.raises(ValidationError) as raised:
        _ref(phone=phone)

    assert raised.value.errors()[0]["loc"] == ("phone",)


@pytest.mark.parametrize(
    "changes",
    [{"source": "POS"}, {"source": ""}, {"external_id": ""}, {"external_id": "C 1001"}],
    ids=["uppercase-source", "empty-source", "empty-external-id", "space-in-external-id"],
)
def test_customer_ref_requires_a_clean_source_and_external_id(changes):
    with pytest.raises(ValidationError):
        _ref(**changes)


def test_payloads_are_frozen():
    purchase = _purchase()

    with pytest.raises(ValidationError):
        purchase.amount_minor = 1  # type: ignore[misc]
