"""Gateway-to-service signatures: a call is believed only for the tenant, method, path,
query and body it was signed for, recently, with the shared secret."""

from __future__ import annotations

import httpx
import pytest

from shared.internal import InternalAuth, Unauthenticated, signed_headers, verify

SECRET = "s" * 40
NOW = 1_800_000_000.0
TARGET = "/v1/customers/lookup?source=pos&external_id=C-1"


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def test_a_signed_call_is_believed_for_its_tenant() -> None:
    headers = lowered(signed_headers(SECRET, "acme", "GET", TARGET, b"", NOW))
    assert verify(SECRET, headers, "GET", TARGET, b"", NOW + 5) == "acme"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no signature", "lacks the gateway's signature"),
        ("other tenant", "does not match"),
        ("other method", "does not match"),
        ("other query", "does not match"),
        ("other body", "does not match"),
        ("other secret", "does not match"),
        ("stale", "synchronise the clocks"),
        ("odd timestamp", "synchronise the clocks"),
        ("odd tenant", "malformed"),
        ("non-ascii signature", "malformed"),
    ],
)
def test_anything_else_is_refused_with_the_reason(change: str, message: str) -> None:
    secret = "t" * 40 if change == "other secret" else SECRET
    headers = lowered(signed_headers(secret, "acme", "POST", TARGET, b"{}", NOW))
    method, target, body, now = "POST", TARGET, b"{}", NOW
    if change == "no signature":
        del headers["x-crm-internal-signature"]
    elif change == "other tenant":
        headers["x-crm-tenant"] = "default"
    elif change == "other method":
        method = "DELETE"
    elif change == "other query":
        target = TARGET.replace("C-1", "C-2")
    elif change == "other body":
        body = b'{"points": 1}'
    elif change == "stale":
        now = NOW + 61
    elif change == "odd timestamp":
        headers["x-crm-internal-timestamp"] = "1" * 5000
    elif change == "odd tenant":
        headers["x-crm-tenant"] = "ACME\u00e9"
    elif change == "non-ascii signature":
        headers["x-crm-internal-signature"] = "v1=" + "\u00e9" * 64
    with pytest.raises(Unauthenticated, match=message):
        verify(SECRET, headers, method, target, body, now)


def test_the_client_auth_signs_what_travels_on_the_wire() -> None:
    request = httpx.Request(
        "POST",
        "http://loyalty/v1/loyalty/sweep",
        params={"all_tenants": "true"},
        headers={"X-CRM-Tenant": "acme"},
        content=b"{}",
    )
    signed = next(InternalAuth(SECRET).auth_flow(request))
    headers = {k.lower(): v for k, v in signed.headers.items()}
    target = "/v1/loyalty/sweep?all_tenants=true"
    assert verify(SECRET, headers, "POST", target, b"{}") == "acme"
