"""Data-protection requests, as the gateway and profile answer them: an erasure's job
(which services have confirmed) and an export's job (then its document)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from shared.events.bounds import Text
from shared.sealing import SubjectKey

ErasureReason = Annotated[
    Text,
    Query(
        min_length=1,
        max_length=500,
        description="Why the customer is erased (the request's reference); kept with the job",
        examples=["GDPR art. 17 request 2026-118"],
    ),
]


class Confirmation(BaseModel):
    service: str
    confirmed_at: datetime | None = Field(description="When it erased; null while it has not")


class ErasureJob(BaseModel):
    """An erasure: profile erased the customer at once, the other services confirm through
    Kafka; ``status`` is ``erased`` once every one has."""

    erasure_id: uuid.UUID
    customer_id: uuid.UUID
    merged_ids: list[uuid.UUID] = Field(description="Customers merged into it, erased with it")
    reason: str
    requested_at: datetime
    requested_by: str | None
    status: Literal["erasing", "erased"]
    services: list[Confirmation]
    completed_at: datetime | None = Field(description="The last confirmation's time")
    seconds: float | None = Field(description="From the request to the last confirmation")


class ExportPart(BaseModel):
    service: str
    status: Literal["pending", "done", "failed"]


class ExportJob(BaseModel):
    """An export: the gateway gathers what every service holds about the customer;
    ``document`` is there once ``status`` is ``ready`` (kept until ``expires_at``)."""

    export_id: uuid.UUID
    customer_id: uuid.UUID
    status: Literal["gathering", "ready", "failed"]
    requested_at: datetime
    completed_at: datetime | None
    expires_at: datetime
    services: list[ExportPart]
    document: dict[str, Any] | None = Field(
        description="Every service's rows about the customer, by service and table"
    )


class SubjectReference(BaseModel):
    """A data subject as the gateway knows it: a partner's customer reference."""

    source: Annotated[str, Field(min_length=1, max_length=64)]
    external_id: Annotated[str, Field(min_length=1, max_length=200)]


class SubjectKeysWanted(BaseModel):
    """The gateway's question to profile (internal): the keys of a batch's subjects."""

    references: Annotated[list[SubjectReference], Field(min_length=1, max_length=500)]


class KeysWanted(BaseModel):
    """A consumer's question to profile (internal): the keys of a batch's sealed fields."""

    kids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=500)]


class CustomerKeysWanted(BaseModel):
    """A service's question to profile (internal): the keys of a batch's customers, which
    it seals its own events' personal fields with (source ``crm:record``)."""

    customer_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)]


class SubjectKeyGiven(SubjectReference):
    kid: str
    secret: str = Field(description="The AES-256 key, base64")

    def key(self) -> SubjectKey:
        return SubjectKey(self.kid, base64.b64decode(self.secret))


class SubjectKeys(BaseModel):
    """Profile's answer: each subject's key, made on first use."""

    keys: list[SubjectKeyGiven]
