"""The service desk's contract: the queue of complaints across customers, one complaint
with its text and the agents' notes, the changes an agent makes (status, assignee),
and the notes they leave."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.feedback import Complaint, ComplaintStatus
from shared.contracts.query import Flag
from shared.cursors import KeysetCursor
from shared.events.activity import Severity
from shared.events.bounds import Text

AGENT_PATTERN = r"^[A-Za-z0-9_.:@+-]{1,128}$"
Agent = Annotated[str, Field(pattern=AGENT_PATTERN, max_length=128)]


class DeskPage(BaseModel):
    complaints: list[Complaint] = Field(description="Ordered by due time, the soonest first")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class Note(BaseModel):
    note_id: uuid.UUID
    author: str | None = Field(description="The API key that wrote it")
    text: str
    at: datetime


class ComplaintDetail(Complaint):
    """One complaint as the desk works it: what the customer said, its resolution, and
    the agents' internal notes, oldest first (never shown to the customer)."""

    text: str
    resolution: str | None
    resolver: str | None = Field(
        None, description="The API key that resolved it at the desk (api-key:<key_id>)"
    )
    notes: list[Note]


class DeskChange(BaseModel):
    """What an agent changes: the status (``resolved`` has its own route, with the
    resolution), the assignee (null: nobody), or both."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "in_progress", "waiting_on_customer", "closed"] | None = Field(
        None, description="open reopens a resolved complaint, with a fresh deadline"
    )
    assignee: Agent | None = Field(None, description="Leave out to keep; null to unassign")


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[Text, Field(min_length=1, max_length=2000)]


class RecordedNote(NoteRequest):
    """A note as the gateway forwards it, with the key that wrote it."""

    author: str = Field(max_length=80)


class RecordedChange(DeskChange):
    """A change as the gateway forwards it, with the key that made it."""

    actor: str = Field(max_length=80)


DeskStatusFilter = Annotated[ComplaintStatus | None, Query(description="Only this status")]
SeverityFilter = Annotated[Severity | None, Query(description="Only this severity")]
BreachedFilter = Annotated[
    Flag | None,
    Query(description="true: open past its due time; false: open, not yet due"),
]
AssigneeFilter = Annotated[
    str | None, Query(pattern=AGENT_PATTERN, max_length=128, description="Only this agent's")
]
CategoryFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=r"^[^\x00]+$", description="Only this category"),
]
DeskLimit = Annotated[int, Query(ge=1, le=200)]
DeskCursor = KeysetCursor
