"""Signed ingestion: a partner key may require every post to carry an HMAC signature.

A bearer key proves who sends; a signature also proves the body was not altered
and, with its timestamp, that an old request is not being replayed. The
signing secret is never stored: it is derived from the installation's master
key and the API key's id (``HMAC(master, key_id)``; after the n-th rotation
``HMAC(master, key_id || n)``), shown once when the key is created or rotated,
and derived again to verify. A signed key signs every write it makes, on any
route. Partners sign ``"<unix seconds>.<raw body>"`` with HMAC-SHA256 and send

    X-CRM-Timestamp: 1763812500
    X-CRM-Signature: v1=<hex digest>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from datetime import datetime

TOLERANCE_SECONDS = 300
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v1=[0-9a-f]{64}$")


class BadSignature(ValueError):
    """Why a signed request was refused (missing, stale or not matching)."""


def signing_secret(master_key: str, key_id: uuid.UUID, generation: int = 0) -> str:
    """The key's signing secret (of its ``generation``-th rotation), derived, so that it
    never needs storing; generation 0 keeps the secrets issued before rotations existed."""
    material = key_id.bytes + (generation.to_bytes(4, "big") if generation else b"")
    digest = hmac.new(master_key.encode(), material, hashlib.sha256).digest()
    return "whsec_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-CRM-Signature`` value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """Raise ``BadSignature`` unless the request is signed with ``secret``, recently."""
    timestamp = headers.get("x-crm-timestamp", "")
    presented = headers.get("x-crm-signature", "")
    if not timestamp or not presented:
        raise BadSignature("This key signs its posts: send X-CRM-Timestamp and X-CRM-Signature.")
    # ASCII digits only: str.isdigit() admits '²' and int() refuses it; a bounded length
    # keeps int() and the float arithmetic below from overflowing.
    fresh = (
        _TIMESTAMP.match(timestamp) and abs(now.timestamp() - int(timestamp)) <= TOLERANCE_SECONDS
    )
    if not fresh:
        raise BadSignature(
            f"X-CRM-Timestamp must be the current Unix time in seconds, digits only "
            f"(within {TOLERANCE_SECONDS} s)."
        )
    if not _SIGNATURE.match(presented) or not hmac.compare_digest(
        presented.encode(), signature(secret, timestamp, body).encode()
    ):
        raise BadSignature("X-CRM-Signature does not match the body and timestamp.")
