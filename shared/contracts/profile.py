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


class MergeRequest(BaseModel):
    """An operator's merge of two customers they name, as sent to the gateway."""

    model_config = ConfigDict(extra="forbid")

    survivor_id: uuid.UUID = Field(description="The customer who stays")
    merged_id: uuid.UUID = Field(description="The customer merged into the survivor")
    reason: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description="Why the operator merges them; kept with the merge"
    )


class RecordedMergeRequest(MergeRequest):
    """The merge as the gateway forwards it: ``decided_by`` is the acting API key."""

    decided_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class UndoRequest(BaseModel):
    """An operator's undo of a merge, as sent to the gateway."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description="Why the merge is taken apart; kept with the undo"
    )


class RecordedUndo(UndoRequest):
    """The undo as the gateway forwards it: ``undone_by`` is the acting API key."""

    undone_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class MergeMoved(BaseModel):
    """What a merge moved: identities (``[kind, value]``; kind ``ref:<source>``,
    ``email`` or ``phone``) that went to the survivor or were let go, details of the
    survivor filled from the merged record, and customers merged into the merged one
    before, which followed it to the survivor."""

    moved: list[list[str]]
    released: list[list[str]]
    filled: dict[str, str]
    repointed: list[uuid.UUID]


class UndoMoved(BaseModel):
    """What an undo gave back: identities moved back to the merged customer, identities
    made anew for it, and the survivor's details emptied again."""

    back: list[list[str]]
    restored: list[list[str]]
    cleared: list[str]


class MergeUndo(BaseModel):
    undone_at: datetime
    undone_by: str | None
    reason: str
    moved: UndoMoved


class MergeRecord(BaseModel):
    """A merge as profile recorded it: who, when, why and what moved, and its undo."""

    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    candidate_id: uuid.UUID | None = Field(description="The candidate it confirmed, if any")
    decided_at: datetime
    decided_by: str | None
    reason: str
    moved: MergeMoved
    undo: MergeUndo | None = Field(description="How the merge was taken apart, if it was")
