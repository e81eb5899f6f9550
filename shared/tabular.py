"""Analytics answers as tables: a route that aggregates also answers ``Accept: text/csv``
with one CSV table (a header row, then one row per figure), for a spreadsheet or a BI
tool. JSON stays the default; CSV is chosen only when the caller asks for it at least
as strongly as for JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request, Response

CSV = "text/csv"
_JSON_RANGES = ("application/json", "application/*", "*/*")


def wants_csv(request: Request) -> bool:
    """Whether ``Accept`` prefers text/csv (named, with a q no lower than JSON's)."""
    weights: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(",")[:32]:
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    csv_q = weights.get(CSV, 0.0)
    return csv_q > 0 and csv_q >= max((weights.get(r, 0.0) for r in _JSON_RANGES), default=0.0)


def csv_answer(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """The table as ``text/csv`` (RFC 4180: CRLF rows; instants in RFC 3339, UTC)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return Response(out.getvalue(), media_type=f"{CSV}; charset=utf-8")


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return "" if value is None else value


# The 200 answer's alternative content, for the OpenAPI of a route that answers CSV.
CSV_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CSV: {"schema": {"type": "string"}}},
        "description": "The answer; as one CSV table with Accept: text/csv",
    }
}
