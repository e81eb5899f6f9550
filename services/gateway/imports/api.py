"""Bulk import of customers: ``POST /v1/imports`` takes a CSV or NDJSON file as a job,
``GET /v1/imports/{id}`` follows it (``customers:import``, which admin keys hold).

The upload is checked whole (format, UTF-8, size, lines, rows, the CSV header) and
answered ``202`` with the job; the rows are then registered by the gateway's import
runner as partners' ``customer.registered`` events (``registration``). The same file
posted again answers the same job, so a client's retry never imports it twice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from services.gateway import audit
from services.gateway.auth import CustomerImporter, failures
from services.gateway.imports import handlers, rows, store
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from shared.contracts.imports import ImportJob, ImportSource
from shared.contracts.query import Id
from shared.problems import Problem

router = APIRouter(prefix="/v1/imports", tags=["customers"])
_ROWS = (
    "One customer a row: source, external_id (required), name, email, phone, "
    "consent.<channel>.<purpose> (true or false) and the tenant's declared attributes by "
    "name (GET /v1/profile/attributes), typed from their declaration"
)
_TEXT = {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]*$"}
BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file (at most CRM_MAX_BODY_BYTES, CRM_IMPORT_MAX_ROWS rows and "
        "CRM_IMPORT_MAX_LINE_BYTES a line), in UTF-8",
        "content": {
            "text/csv": {
                "schema": {
                    **_TEXT,
                    "description": f"A header, then rows. {_ROWS}; in a "
                    "list attribute's cell, items are separated by ';'; an empty cell is no value",
                },
                "example": "source,external_id,name,email,birthday\n"
                "pos,C-1001,Li Wei,li.wei@example.com,1990-04-01\n",
            },
            "application/x-ndjson": {
                "schema": {
                    **_TEXT,
                    "description": f"A JSON object a line. {_ROWS}; "
                    "attributes may also sit in an 'attributes' object",
                },
                "example": '{"source": "pos", "external_id": "C-1001", "name": "Li Wei"}\n',
            },
        },
    }
}
_JOB = f"{router.prefix}/{{import_id}}"
_REFUSED = {
    413: "The file is larger than CRM_MAX_BODY_BYTES, holds more than CRM_IMPORT_MAX_ROWS rows, "
    "or a line longer than CRM_IMPORT_MAX_LINE_BYTES",
    415: "The body is not text/csv or application/x-ndjson in UTF-8",
    422: "A parameter is invalid, or the file cannot be read: not UTF-8, no rows, a CSV header "
    "without external_id or naming a column twice",
}
UPLOAD_FAILURES = {
    status: {**answer, "description": _REFUSED.get(int(status), answer["description"])}
    for status, answer in failures(400, 413, 415).items()
}


@router.post(
    "",
    status_code=202,
    response_model=ImportJob,
    responses=UPLOAD_FAILURES,
    openapi_extra=BODY | links(202, Job=link(_JOB, "get", import_id="$response.body#/import_id")),
)
async def post_import(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    caller: CustomerImporter,
    source: ImportSource = None,
) -> ImportJob:
    """Import customers from a CSV file with a header (``text/csv``) or NDJSON
    (``application/x-ndjson``): answered with the job at once (``Location``), its rows
    registered like partners' ``customer.registered`` events; bad rows are reported by
    line. The same file posted again answers the same job (a failed one resumes)."""
    fmt = rows.media_format(request.headers.get("content-type"))
    if fmt is None:
        raise Problem(
            415,
            "unsupported-media-type",
            "Send the file as text/csv (with a header) or application/x-ndjson, in UTF-8.",
        )
    _check_allowed(caller.event_types, caller.sources if not caller.operator else None, source)
    settings = runtime.settings
    content = await request.body()  # bounded by the app's body limit (CRM_MAX_BODY_BYTES)
    try:
        text = rows.checked_text(content, settings.import_max_line_bytes)
        count = rows.row_count(text, fmt, settings.import_max_rows)
    except rows.FileRefused as refused:
        raise Problem(refused.status, refused.slug, refused.detail) from refused
    upload = store.Upload(
        tenant_id=caller.tenant_id,
        partner=caller.partner,
        created_by=f"api-key:{caller.key_id}",
        sources=None if caller.operator else sorted(caller.sources),
        event_types=None if caller.event_types is None else sorted(caller.event_types),
        format=fmt,
        default_source=source,
        content=content,
        rows=count,
    )
    job = await handlers.start(runtime.db, upload, runtime.resources.imports.wake)
    target, after = f"import:{job.import_id}", {"format": fmt, "rows": count}
    await audit.record(
        runtime.db, caller, audit.Decision("customers.imported", target, after=after)
    )
    response.headers["Location"] = f"{router.prefix}/{job.import_id}"
    return job


def _check_allowed(
    event_types: frozenset[str] | None, sources: frozenset[str] | None, source: str | None
) -> None:
    if event_types is not None and "customer.registered" not in event_types:
        raise Problem(
            403,
            "event-type-not-allowed",
            "Importing registers customers: this API key may not post customer.registered.",
        )
    if source is not None and sources is not None and source not in sources:
        allowed = ", ".join(sorted(sources)) or "none"
        raise Problem(
            403,
            "source-not-allowed",
            f"This API key may not post for source '{source}' (its sources: {allowed}).",
        )


@router.get("/{import_id}", response_model=ImportJob, responses=failures(404))
async def get_import(import_id: Id, runtime: RuntimeDep, caller: CustomerImporter) -> ImportJob:
    """An import's progress: rows read, accepted and rejected (the first rejections with
    their line and reason), and its state."""
    job = await handlers.find(runtime.db, caller.tenant_id, import_id)
    if job is None:
        raise Problem(404, "import-not-found", f"No import {import_id} in this tenant.")
    return job
