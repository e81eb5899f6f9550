"""Merge candidates, as profile answers them, and the operator's decision."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from shared.cursors import KeysetCursor
from shared.events.bounds import Text

CandidateStatus = Literal["open", "confirmed", "dismissed"]


class MergeCandidate(BaseModel):
    candidate_id: uuid.UUID
    survivor_id: uuid.UUID = Field(description="The older customer, who stays")
    merged_id: uuid.UUID = Field(description="The newer customer, merged into the survivor")
    matched: list[Literal["email", "phone"]]
    status: CandidateStatus
    found_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    merge_id: uuid.UUID | None = Field(description="The merge a confirmation made, if any")


class CandidatePage(BaseModel):
    candidates: list[MergeCandidate]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class MergeDecision(BaseModel):
    """An operator's decision, as sent to the gateway."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="Why the operator decided so; kept with the decision"
    )


class RecordedDecision(MergeDecision):
    """The decision as the gateway forwards it to profile: ``decided_by`` is the deciding
    API key, set by the gateway (a caller cannot name someone else)."""

    decided_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


# The candidates' list: by status, a page at a time (oldest first).
CandidateLimit = Annotated[int, Query(ge=1, le=200)]
CandidateCursor = KeysetCursor


class NamesRequest(BaseModel):
    """The customers whose names a page of another service's answer needs (the gateway's
    one batched read)."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[uuid.UUID] = Field(max_length=500)


class Names(BaseModel):
    names: dict[uuid.UUID, str | None] = Field(
        description="Each known customer's name (null: none recorded); unknown ids left out"
    )
