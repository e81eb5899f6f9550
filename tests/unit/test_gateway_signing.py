"""Partner request signatures: derived secrets, HMAC over timestamp and body, freshness."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.gateway.signing import BadSignature, signature, signing_secret, verify

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
MASTER = "m" * 40


def headers(secret: str, body: bytes, at: datetime = NOW) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    return {"x-crm-timestamp": stamp, "x-crm-signature": signature(secret, stamp, body)}


def test_a_secret_is_derived_per_key_and_stable() -> None:
    key = uuid.uuid4()
    assert signing_secret(MASTER, key) == signing_secret(MASTER, key)
    assert signing_secret(MASTER, key) != signing_secret(MASTER, uuid.uuid4())
    assert signing_secret(MASTER, key) != signing_secret("n" * 40, key)


def test_a_fresh_correct_signature_is_accepted() -> None:
    secret = signing_secret(MASTER, uuid.uuid4())
    verify(secret, headers(secret, b'{"id": "1"}'), b'{"id": "1"}', NOW)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "send X-CRM-Timestamp"),
        ("stale", "current Unix time"),
        ("tampered", "does not match"),
        ("other key", "does not match"),
    ],
)
def test_a_bad_signature_is_refused_with_the_reason(case: str, message: str) -> None:
    secret = signing_secret(MASTER, uuid.uuid4())
    body = b'{"id": "1"}'
    sent = {
        "missing": {},
        "stale": headers(secret, body, datetime(2026, 11, 22, 11, 50, tzinfo=UTC)),
        "tampered": headers(secret, b'{"id": "2"}'),
        "other key": headers(signing_secret(MASTER, uuid.uuid4()), body),
    }[case]
    with pytest.raises(BadSignature, match=message):
        verify(secret, sent, body, NOW)


def test_a_short_master_key_stops_the_gateway_at_start() -> None:
    from pydantic import ValidationError

    from services.gateway.settings import GatewaySettings

    with pytest.raises(ValidationError, match="at least 32"):
        GatewaySettings(signing_master_key="too-short")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "stamp",
    ["²³", "1" * 5000, "9" * 30, "-1763812500", " 1763812500", "1763812500.5", "0x69", ""],
    ids=[
        "superscript digits",
        "huge",
        "overflowing",
        "negative",
        "space",
        "decimal",
        "hex",
        "empty",
    ],
)
def test_an_odd_timestamp_is_refused_not_crashed(stamp: str) -> None:
    secret = signing_secret(MASTER, uuid.uuid4())
    sent = {"x-crm-timestamp": stamp, "x-crm-signature": signature(secret, stamp, b"{}")}
    with pytest.raises(BadSignature):
        verify(secret, sent, b"{}", NOW)


def test_a_non_ascii_signature_is_refused_not_crashed() -> None:
    secret = signing_secret(MASTER, uuid.uuid4())
    stamp = str(int(NOW.timestamp()))
    with pytest.raises(BadSignature, match="does not match"):
        verify(secret, {"x-crm-timestamp": stamp, "x-crm-signature": "v1=é" * 20}, b"{}", NOW)


def test_a_rotation_derives_a_new_secret_and_keeps_the_first() -> None:
    key = uuid.uuid4()
    assert signing_secret(MASTER, key, 0) == signing_secret(MASTER, key)
    assert signing_secret(MASTER, key, 1) != signing_secret(MASTER, key, 0)
    assert signing_secret(MASTER, key, 2) != signing_secret(MASTER, key, 1)
