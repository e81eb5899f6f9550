"""Answer tokens, signed and checked: the one credential ``POST /v1/survey-responses``
takes. Plain Python.

A token is an HMAC-SHA256 over its claims (tenant, invitation, customer, expiry; the
layout is ``shared.answer_tokens``), keyed by a secret derived from a setting, as
the gateway derives partners' signing secrets from its master key: nothing is
stored, a token is made again whenever an open invitation is read, and checked by
making its signature again. So a token cannot be forged without the key, names the
invitation it answers (one answer each: the invitation's status says whether it was
answered), and stops working at its expiry, which is the invitation's.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from shared.answer_tokens import AnswerClaims, assemble, signed_part, split

_PURPOSE = b"crm/feedback/answer-token/v1"


class ForgedToken(ValueError):
    """Not a token this installation signed (or one whose claims were altered)."""


class ExpiredToken(ValueError):
    """A genuine token past its expiry."""

    def __init__(self, claims: AnswerClaims) -> None:
        super().__init__("the answer token has expired")
        self.claims = claims


def token_secret(key: str) -> bytes:
    """The signing secret of answer tokens, derived from a configured key, so that the
    key itself signs nothing and serves other purposes unharmed."""
    return hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest()


def issue(secret: bytes, claims: AnswerClaims) -> str:
    """The answer token of ``claims``."""
    signed = signed_part(claims)
    return assemble(signed, _mac(secret, signed))


def verify(secret: bytes, token: str, now: datetime) -> AnswerClaims:
    """The claims of a token this installation signed and that has not expired; raises
    ``ForgedToken`` or ``ExpiredToken``."""
    presented = split(token)
    if presented is None or not hmac.compare_digest(
        presented.signature, _mac(secret, presented.signed)
    ):
        raise ForgedToken("the answer token is not one this service issued")
    if now >= presented.claims.expires_at:
        raise ExpiredToken(presented.claims)
    return presented.claims


def _mac(secret: bytes, signed: str) -> bytes:
    return hmac.new(secret, signed.encode(), hashlib.sha256).digest()
