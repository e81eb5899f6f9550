"""Signed ingestion: a partner key may require every post to carry an HMAC signature.

A bearer key proves who sends; a signature also proves the body was not altered
and, with its timestamp, that an old request is not being replayed. The
signing secret is never stored: it is derived from the installation's master
key and the API key's id (``HMAC(master, key_id)``), shown once when the key
is created, and derived again to verify. Partners sign
``"<unix seconds>.<raw body>"`` with HMAC-SHA256 and send

    X-CRM-Timestamp: 1763812500
    X-CRM-Signature: v1=<hex digest>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime

TOLERANCE_SECONDS = 300


class BadSignature(ValueError):
    """Why a signed request was refused (missing, stale or not matching)."""


def signing_secret(master_key: str, key_id: uuid.UUID) -> str:
    """The key's signing secret, derived, so that it never needs storing."""
    digest = hmac.new(master_key.encode(), key_id.bytes, hashlib.sha256).digest()
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
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise BadSignature(
            f"X-CRM-Timestamp must be the current Unix time (within {TOLERANCE_SECONDS} s)."
        )
    if not hmac.compare_digest(presented, signature(secret, timestamp, body)):
        raise BadSignature("X-CRM-Signature does not match the body and timestamp.")
