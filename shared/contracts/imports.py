"""Customer imports, as the gateway answers them: a job's progress and its rejected rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, Field

ImportState = Literal["queued", "running", "done", "failed"]
ImportSource = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_.-]+$",
        description="The customer.source of rows that name none (a source column wins)",
        examples=["crm"],
    ),
]


class ImportRejection(BaseModel):
    line: int = Field(description="The row's line in the file (the CSV header is line 1)")
    reason: str = Field(description="What is wrong, naming the column (never its value)")


class ImportJob(BaseModel):
    """An import: its rows are registered as customers in chunks, like partners'
    ``customer.registered`` events; ``state`` is ``done`` once every row was read."""

    import_id: uuid.UUID
    state: ImportState = Field(
        description="queued, running, done, or failed (with failure; re-post to resume)"
    )
    format: Literal["csv", "ndjson"]
    rows: int = Field(description="Rows in the file")
    rows_read: int = Field(description="Rows processed so far")
    accepted: int = Field(description="Rows registered (published like a partner's event)")
    rejected: int = Field(description="Rows refused; the first ones are in rejections")
    rejections: list[ImportRejection] = Field(
        description="The first rejected rows (at most CRM_IMPORT_MAX_REJECTIONS), by line"
    )
    failure: str | None = Field(description="Why the job failed; null otherwise")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = Field(description="When the last row was read")
