"""Personal fields on the topics, sealed per data subject (crypto-shredding).

The topics keep their events forever, so erasure cannot reach what a partner posted
by deleting it. Instead the personal fields of an event (a payload's ``PERSONAL``
names: contact details, free texts, proofs, attributes) travel sealed with
AES-256-GCM under a key of the data subject, and erasure destroys the key: every
copy of those fields, on every topic and in every backup, becomes noise at once.

A sealed payload keeps its personal fields at their defaults (empty) and carries
``sealed``, an envelope ``{"kid", "ct", "alg": "A256GCM"}``: the key's id, and
base64 of a fresh 96-bit nonce followed by the ciphertext of the fields' JSON, with
the key id as associated data (a ciphertext cannot be passed off under another key).
An event without ``sealed`` (posted before sealing existed) is read as it is.
Opening with a destroyed key leaves the fields empty: the event still folds, its
amounts and stages intact, and names nobody.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field

ALGORITHM: Literal["A256GCM"] = "A256GCM"
KEY_BYTES = 32
NONCE_BYTES = 12


class Sealed(BaseModel):
    """Personal fields of an event, encrypted under the data subject's key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kid: str = Field(min_length=1, max_length=64, description="The subject key's id")
    ct: str = Field(max_length=200_000, description="base64(nonce ‖ AES-GCM ciphertext)")
    alg: Literal["A256GCM"] = ALGORITHM


@dataclass(frozen=True)
class SubjectKey:
    """One data subject's key: its id (on the wire) and its secret (never on the wire)."""

    kid: str
    secret: bytes

    def __repr__(self) -> str:  # a key never reaches a log line
        return f"SubjectKey(kid={self.kid!r})"


def new_secret() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: SubjectKey, fields: dict[str, Any]) -> Sealed:
    """``fields`` as JSON, encrypted under ``key`` with a fresh nonce."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.secret).encrypt(nonce, orjson.dumps(fields), key.kid.encode())
    return Sealed(kid=key.kid, ct=base64.b64encode(nonce + ciphertext).decode())


def unseal(key: SubjectKey, sealed: Sealed) -> dict[str, Any] | None:
    """The fields sealed under ``key``, or None when they cannot be read (another key,
    a damaged ciphertext): unreadable personal data is treated as erased."""
    try:
        raw = base64.b64decode(sealed.ct, validate=True)
        plain = AESGCM(key.secret).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key.kid.encode())
        fields = orjson.loads(plain)
    except (binascii.Error, ValueError, InvalidTag, orjson.JSONDecodeError):
        return None
    return fields if isinstance(fields, dict) else None


class Personal(BaseModel):
    """A payload with personal fields: ``PERSONAL`` names them, ``sealed`` carries them
    when the gateway sealed them (they are then empty in the clear)."""

    PERSONAL: ClassVar[tuple[str, ...]] = ()
    # In the events' schemas, not in those a partner posts against (the gateway's
    # ``event_schema`` leaves it out, and ingestion refuses it).
    sealed: Sealed | None = Field(
        default=None,
        exclude_if=lambda sealed: sealed is None,  # an unsealed event's bytes stay as they were
        description="The personal fields, sealed under the data subject's key (set by the "
        "gateway, never posted): erasure destroys the key",
    )


P = TypeVar("P", bound=Personal)


def personal_fields(payload: Personal) -> dict[str, Any]:
    """The personal fields that hold something (defaults are not worth sealing)."""
    shown = payload.model_dump(mode="json", include=set(payload.PERSONAL), by_alias=False)
    return {
        name: value
        for name, value in shown.items()
        if value != _default(payload, name) and value not in (None, "", {}, [])
    }


def _default(payload: Personal, name: str) -> Any:
    return type(payload).model_fields[name].get_default(call_default_factory=True)


def seal_payload(payload: P, key: SubjectKey) -> P:
    """The payload with its personal fields sealed under ``key`` (unchanged if it has
    none, or is sealed already)."""
    fields = personal_fields(payload)
    if not fields or payload.sealed is not None:
        return payload
    blank = {name: _default(payload, name) for name in fields}
    return payload.model_copy(update={**blank, "sealed": seal(key, fields)})


def open_payload(payload: P, key: SubjectKey | None) -> P:
    """The payload with its personal fields in the clear; with no key (destroyed: the
    subject was erased) or an unreadable seal they stay empty."""
    if payload.sealed is None:
        return payload
    fields = unseal(key, payload.sealed) if key is not None else None
    if not fields:
        return payload.model_copy(update={"sealed": None})
    known = {n: v for n, v in fields.items() if n in payload.PERSONAL}
    return type(payload).model_validate({**payload.model_dump(), **known, "sealed": None})


def open_with(payload: P, keys: Mapping[str, SubjectKey]) -> P:
    """``open_payload`` with the key ``keys`` holds for its seal (none: erased)."""
    if payload.sealed is None:
        return payload
    return open_payload(payload, keys.get(payload.sealed.kid))


def kids_of(payloads: Iterable[Personal | None]) -> set[str]:
    """The key ids a batch of payloads needs to be opened."""
    return {p.sealed.kid for p in payloads if p is not None and p.sealed is not None}


K = TypeVar("K", bound=Hashable)


class KeyCache(Generic[K]):
    """Subject keys recently used, by whatever names them (a customer reference, a key
    id), so a batch asks the key's owner only for those it has not seen lately. Bounded
    in entries and in age: an erased subject's key is forgotten here within ``ttl``."""

    def __init__(self, max_entries: int = 10_000, ttl_seconds: float = 60.0) -> None:
        self._entries: OrderedDict[K, tuple[float, SubjectKey | None]] = OrderedDict()
        self._max, self._ttl = max_entries, ttl_seconds

    def get(self, name: K) -> tuple[bool, SubjectKey | None]:
        """(known, key): a known None is a key known to be destroyed."""
        entry = self._entries.get(name)
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            self._entries.pop(name, None)
            return False, None
        self._entries.move_to_end(name)
        return True, entry[1]

    def missing(self, names: Iterable[K]) -> list[K]:
        return [n for n in dict.fromkeys(names) if not self.get(n)[0]]

    def put(self, name: K, key: SubjectKey | None) -> None:
        self._entries[name] = (time.monotonic(), key)
        self._entries.move_to_end(name)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, names: Iterable[K]) -> None:
        for name in names:
            self._entries.pop(name, None)

    def clear(self) -> None:
        self._entries.clear()
