"""The layout of a survey answer token, which the gateway and feedback both read.

An answer token lets whoever holds it answer one survey invitation, once, before it
expires, without an API key: feedback hands it out with each open invitation (and
in ``crm.feedback.survey_invited.v1``, for whoever delivers it) and verifies it when
the answer comes back. Its claims travel in the clear and are signed by feedback::

    v1.<base64url(claims)>.<base64url(HMAC-SHA256)>
    claims = "<tenant>\\n<invitation hex>\\n<customer hex>\\n<expiry, Unix seconds>"

The gateway reads the tenant from the claims to know where to forward the answer,
and nothing else: only feedback holds the key that makes or checks a signature
(``services.feedback.domain.tokens``), so a token with altered claims is refused
there. This module is the layout only, with no key.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = "v1"
PATTERN = r"^v1\.[A-Za-z0-9_-]{20,400}\.[A-Za-z0-9_-]{43}$"
_TOKEN = re.compile(PATTERN.strip("^$"))


@dataclass(frozen=True)
class AnswerClaims:
    """What an answer token says: whose invitation, and until when it may be answered."""

    tenant_id: str
    invitation_id: uuid.UUID
    customer_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class Presented:
    """A token split into its claims, the signed text and the signature presented."""

    claims: AnswerClaims
    signed: str
    signature: bytes


def signed_part(claims: AnswerClaims) -> str:
    """The text a token's signature covers: the version and the encoded claims."""
    expiry = int(claims.expires_at.timestamp())
    plain = f"{claims.tenant_id}\n{claims.invitation_id.hex}\n{claims.customer_id.hex}\n{expiry}"
    return f"{VERSION}.{_encode(plain.encode())}"


def assemble(signed: str, signature: bytes) -> str:
    return f"{signed}.{_encode(signature)}"


def split(token: str) -> Presented | None:
    """The token's parts, or None when it is not a token of this layout (its signature
    unchecked: that is feedback's)."""
    if not _TOKEN.fullmatch(token):
        return None
    signed, _, signature = token.rpartition(".")
    try:
        fields = _decode(signed.split(".", 1)[1]).decode().split("\n")
        tenant, invitation, customer, expiry = fields
        claims = AnswerClaims(
            tenant, uuid.UUID(hex=invitation), uuid.UUID(hex=customer),
            datetime.fromtimestamp(int(expiry), UTC),
        )  # fmt: skip
        return Presented(claims, signed, _decode(signature))
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError, OSError):
        return None


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
