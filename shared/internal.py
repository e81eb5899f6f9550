"""Gateway-to-service authentication: the services believe ``X-CRM-Tenant`` only when the
gateway vouches for it.

A service's port must never be reachable by anyone but the gateway, but a
network rule is one mistake away from open. So every call the gateway makes
carries an HMAC-SHA256, keyed by the installation's internal secret
(``CRM_INTERNAL_SECRET``, the same in the gateway and the four services), over

    v1 \\n <tenant> \\n <METHOD> \\n <path?query> \\n <unix seconds> \\n <sha256(body)>

so a captured call cannot be pointed at another tenant, route or body, and
stops working after ``MAX_SKEW_SECONDS``. The time is the wall clock, never
a service's injected business clock (which a test or a replay may freeze).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Generator, Mapping

import httpx

TENANT_HEADER = "X-CRM-Tenant"
TIMESTAMP_HEADER = "X-CRM-Internal-Timestamp"
SIGNATURE_HEADER = "X-CRM-Internal-Signature"
MAX_SKEW_SECONDS = 60
_TENANT = re.compile(r"^[a-z0-9_-]{1,64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v1=[0-9a-f]{64}$")


class Unauthenticated(ValueError):
    """Why an internal call was refused; the text is safe to show."""


def signature(secret: str, tenant: str, method: str, target: str, stamp: str, body: bytes) -> str:
    """The ``X-CRM-Internal-Signature`` of one call."""
    message = "\n".join(
        ["v1", tenant, method.upper(), target, stamp, hashlib.sha256(body).hexdigest()]
    )
    return "v1=" + hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, tenant: str, method: str, target: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The headers that let a service believe the call comes from the gateway."""
    stamp = str(int(time.time() if now is None else now))
    return {
        TENANT_HEADER: tenant,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret, tenant, method, target, stamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> str:
    """The tenant a correctly signed, fresh call is for; else ``Unauthenticated``."""
    tenant = headers.get(TENANT_HEADER.lower(), "")
    stamp = headers.get(TIMESTAMP_HEADER.lower(), "")
    presented = headers.get(SIGNATURE_HEADER.lower(), "")
    if not (tenant and stamp and presented):
        raise Unauthenticated(
            "Services answer only the gateway: this call lacks the gateway's signature."
        )
    if not _TENANT.match(tenant) or not _SIGNATURE.match(presented):
        raise Unauthenticated("The tenant or the gateway's signature is malformed.")
    current = time.time() if now is None else now
    if not _TIMESTAMP.match(stamp) or abs(current - int(stamp)) > MAX_SKEW_SECONDS:
        raise Unauthenticated(
            f"The gateway's timestamp is more than {MAX_SKEW_SECONDS} s off this service's "
            "clock: synchronise the clocks (NTP)."
        )
    expected = signature(secret, tenant, method, target, stamp, body)
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthenticated(
            "The gateway's signature does not match: the gateway and this service must "
            "share one CRM_INTERNAL_SECRET."
        )
    return tenant


def target_of(url: httpx.URL) -> str:
    """Path and query exactly as they travel on the wire (what the service will see)."""
    return url.raw_path.decode("ascii")


class InternalAuth(httpx.Auth):
    """Signs each request of an httpx client for the tenant of its ``X-CRM-Tenant`` header
    (the gateway's upstream clients, and the tests' clients of a service)."""

    requires_request_body = True

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        tenant = request.headers.get(TENANT_HEADER, "")
        request.headers.update(
            signed_headers(
                self._secret, tenant, request.method, target_of(request.url), request.content
            )
        )
        yield request
