"""An import file's rows, read and checked: plain Python, no I/O.

The rules, and why:

1. **A file is checked whole before it is taken** (UTF-8, at most ``max_rows`` rows and
   ``max_line`` bytes a line, a CSV header naming each column once): what would make every
   row fail, or the job unbounded, is the upload's ``4xx``, not a job's thousand rejections.
2. **A row is a customer as a partner registers one**: ``source`` and ``external_id`` name
   it, ``name``, ``email`` and ``phone`` are its contact details, ``consent.<channel>.<purpose>``
   columns (``true``/``false``) its consent, and every other column an attribute of the
   tenant's schema, typed from it (a CSV cell is text: ``12.5`` is a number there, ``a;b``
   a list). An empty CSV cell is a value not given.
3. **A bad row is reported, never fatal**: its line (the first line of a CSV record, the
   header being line 1) and a reason that names the column and never repeats its value,
   since the job's answer outlives the file and must hold no personal data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from shared.events.profile import ConsentChannel, ConsentPurpose

Format = Literal["csv", "ndjson"]
MEDIA_TYPES: dict[str, Format] = {"text/csv": "csv", "application/x-ndjson": "ndjson"}
CONTACT = ("source", "external_id", "name", "email", "phone")
CONSENT_PREFIX = "consent."
LIST_SEPARATOR = ";"
MAX_TEXT = 1_000
MAX_NUMBER = 1e15
_CHANNELS: tuple[str, ...] = get_args(ConsentChannel)
_PURPOSES: tuple[str, ...] = get_args(ConsentPurpose)
_INTEGER = re.compile(r"^[+-]?[0-9]{1,16}$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}
Schema = Mapping[str, str]  # the tenant's declared attributes: name → type


class FileRefused(ValueError):
    """The whole file is refused (``status``: 413 too large, 422 unreadable)."""

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass(frozen=True)
class Record:
    """One row as read: its line and its cells (CSV: texts; NDJSON: JSON values)."""

    line: int
    cells: Mapping[str, Any]
    textual: bool


@dataclass(frozen=True)
class Customer:
    """A good row: the partner reference and details, attributes and consent to register."""

    line: int
    reference: dict[str, str]
    attributes: dict[str, Any] = field(default_factory=dict)
    consent: dict[tuple[str, str], bool] = field(default_factory=dict)


def media_format(content_type: str | None) -> Format | None:
    """The import format of a ``Content-Type`` (a charset only if UTF-8), or None."""
    media, *parameters = (content_type or "").split(";")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return None
    return MEDIA_TYPES.get(media.strip().lower())


def checked_text(content: bytes, max_line: int) -> str:
    """The file as text, if it is UTF-8 with no NUL and no line over ``max_line`` bytes."""
    if not content.strip():
        raise FileRefused(422, "empty-import", "The file holds no rows; send a header and rows.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRefused(
            422, "not-utf8", f"The file is not UTF-8 (byte {error.start}); save it as UTF-8."
        ) from error
    if "\x00" in text:
        raise FileRefused(422, "nul-character", "The file holds a NUL character; remove it.")
    longest = max(len(line.encode()) for line in text.splitlines() or [""])
    if longest > max_line:
        raise FileRefused(
            413, "line-too-long", f"A line holds {longest} bytes; at most {max_line} are read."
        )
    return text


def row_count(text: str, fmt: Format, max_rows: int) -> int:
    """The number of rows (the CSV header checked, and not counted); at most ``max_rows``."""
    count = sum(1 for _ in records(text, fmt))
    if count == 0:
        raise FileRefused(422, "empty-import", "The file holds no rows; send a header and rows.")
    if count > max_rows:
        raise FileRefused(
            413, "too-many-rows", f"The file holds {count} rows; at most {max_rows}. Split it."
        )
    return count


def records(text: str, fmt: Format) -> Iterator[Record]:
    """Every row of the file with its line number, in order."""
    if fmt == "ndjson":
        yield from _ndjson(text)
    else:
        yield from _csv(text)


def _ndjson(text: str) -> Iterator[Record]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        cells = value if isinstance(value, dict) else {"": "not a JSON object"}
        yield Record(number, cells, textual=False)


def _csv(text: str) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise FileRefused(422, "bad-csv-header", "Start the file with a header row.") from error
    columns = _header(header)
    ended = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileRefused(
                422, "bad-csv", f"Line {ended + 1} is not valid CSV ({error}); fix its quotes."
            ) from error
        line, ended = ended + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            yield Record(line, {"": f"has {len(cells)} cells for {len(columns)} columns"}, True)
            continue
        yield Record(line, {c: v for c, v in zip(columns, cells, strict=True) if v != ""}, True)


def _header(header: list[str]) -> list[str]:
    columns = [name.strip() for name in header]
    for required in ("external_id",):
        if required not in columns:
            raise FileRefused(
                422, "bad-csv-header", f"The header has no '{required}' column; name it."
            )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated or "" in columns:
        what = f"names {', '.join(repeated[:5])} twice" if repeated else "has an empty name"
        raise FileRefused(422, "bad-csv-header", f"The header {what}; name each column once.")
    return columns


def customer(record: Record, schema: Schema, default_source: str | None) -> Customer | Rejection:
    """The row as a customer to register, or why it is rejected (the first fault found)."""
    if "" in record.cells:
        return Rejection(record.line, f"the row {record.cells['']}")
    cells = dict(record.cells)
    nested = cells.pop("attributes", {}) if not record.textual else {}
    if not isinstance(nested, dict):
        return Rejection(record.line, "attributes: must be an object of attribute values")
    reference: dict[str, str] = {}
    for name in CONTACT:
        value = cells.pop(name, default_source if name == "source" else None)
        if value is None:
            continue
        if not isinstance(value, str):
            return Rejection(record.line, f"{name}: must be a text")
        if value.strip():
            reference[name] = value.strip()
    if not reference.get("external_id"):
        return Rejection(record.line, "external_id: missing; every row names its customer")
    if not reference.get("source"):
        return Rejection(record.line, "source: missing; add the column or ?source=")
    return _typed(record, reference, {**cells, **nested}, schema)


def _typed(
    record: Record, reference: dict[str, str], cells: dict[str, Any], schema: Schema
) -> Customer | Rejection:
    attributes: dict[str, Any] = {}
    consent: dict[tuple[str, str], bool] = {}
    for name, raw in cells.items():
        if name.startswith(CONSENT_PREFIX):
            _, _, rest = name.partition(".")
            channel, _, purpose = rest.partition(".")
            decision = _boolean(raw, record.textual)
            if channel not in _CHANNELS or purpose not in _PURPOSES:
                return Rejection(record.line, f"{name[:100]}: no such consent channel and purpose")
            if decision is None:
                return Rejection(record.line, f"{name}: must be true or false")
            consent[(channel, purpose)] = decision
            continue
        kind = schema.get(name)
        if kind is None:
            return Rejection(record.line, f"{name[:100]}: unknown attribute (not declared)")
        value = typed_value(kind, raw, record.textual)
        if value is None:
            return Rejection(record.line, f"{name}: {EXPECTED[kind]}")
        attributes[name] = value
    return Customer(record.line, reference, attributes, consent)


EXPECTED = {
    "string": f"must be a text of at most {MAX_TEXT} characters",
    "number": f"must be a number within ±{MAX_NUMBER:.0e}",
    "boolean": "must be true or false",
    "date": "must be a date written YYYY-MM-DD",
    "list": f"must be a list of texts (in CSV, separated by '{LIST_SEPARATOR}')",
}


def typed_value(kind: str, raw: Any, textual: bool) -> Any:
    """``raw`` as a value of the attribute type ``kind``, or None if it is not one."""
    if kind == "string":
        return raw if isinstance(raw, str) and len(raw) <= MAX_TEXT else None
    if kind == "number":
        return _number(raw, textual)
    if kind == "boolean":
        return _boolean(raw, textual)
    if kind == "date":
        return raw if isinstance(raw, str) and _is_date(raw) else None
    if textual and isinstance(raw, str):
        return [item.strip() for item in raw.split(LIST_SEPARATOR) if item.strip()]
    return raw if isinstance(raw, list) and all(isinstance(v, str) for v in raw) else None


def _number(raw: Any, textual: bool) -> int | float | None:
    value: Any = raw
    if textual and isinstance(raw, str):
        text = raw.strip()
        if _INTEGER.match(text):
            value = int(text)
        elif _NUMBER.match(text):
            value = float(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) and abs(value) <= MAX_NUMBER else None


def _boolean(raw: Any, textual: bool) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if textual and isinstance(raw, str):
        word = raw.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def _is_date(value: str) -> bool:
    try:
        return len(value) == 10 and bool(dt.date.fromisoformat(value))
    except ValueError:
        return False
