"""Import files: the whole-file checks, rows read with their line numbers, cells typed
from the tenant's attribute schema, and each good row as the events a partner posts."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest

from services.gateway import import_cli
from services.gateway.imports import registration, rows
from services.gateway.imports.rows import Customer, FileRefused, Rejection

SCHEMA = {
    "plan": "string",
    "score": "number",
    "vip": "boolean",
    "birthday": "date",
    "tags": "list",
}
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
IMPORTER = registration.Importer(
    import_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
    tenant_id="t1",
    partner="crm",
    sources=["pos"],
    event_types=None,
    uploaded_at=NOW,
)


def outcomes(text: str, fmt: rows.Format = "csv", source: str | None = None) -> list[object]:
    return [rows.customer(r, SCHEMA, source) for r in rows.records(text, fmt)]


def test_media_types_name_the_format_and_refuse_other_charsets() -> None:
    assert rows.media_format("text/csv; charset=utf-8") == "csv"
    assert rows.media_format("application/x-ndjson") == "ndjson"
    assert rows.media_format("text/csv; charset=latin-1") is None
    assert rows.media_format("application/json") is None
    assert rows.media_format(None) is None


@pytest.mark.parametrize(
    ("content", "status", "slug"),
    [
        (b"   \n", 422, "empty-import"),
        (b"external_id\n\xff\n", 422, "not-utf8"),
        (b"external_id\nA\x00\n", 422, "nul-character"),
        (b"external_id\n" + b"x" * 2000 + b"\n", 413, "line-too-long"),
    ],
)
def test_a_file_is_refused_whole_for_what_would_fail_every_row(
    content: bytes, status: int, slug: str
) -> None:
    with pytest.raises(FileRefused) as refused:
        rows.checked_text(content, max_line=1024)
    assert (refused.value.status, refused.value.slug) == (status, slug)


def test_rows_are_counted_and_bounded() -> None:
    text = "external_id\nA\n\nB\n"
    assert rows.row_count(text, "csv", max_rows=2) == 2
    with pytest.raises(FileRefused) as refused:
        rows.row_count(text, "csv", max_rows=1)
    assert refused.value.status == 413 and "2 rows; at most 1" in refused.value.detail
    with pytest.raises(FileRefused) as empty:
        rows.row_count("external_id\n", "csv", max_rows=5)
    assert empty.value.slug == "empty-import"


@pytest.mark.parametrize(
    ("header", "fault"),
    [
        ("name,email", "no 'external_id'"),
        ("external_id,plan,plan", "plan twice"),
        ("external_id,", "empty name"),
    ],
)
def test_a_csv_header_names_external_id_and_each_column_once(header: str, fault: str) -> None:
    with pytest.raises(FileRefused) as refused:
        list(rows.records(header + "\nA,B,C\n", "csv"))
    assert refused.value.slug == "bad-csv-header" and fault in refused.value.detail


def test_csv_lines_count_the_header_and_quoted_newlines() -> None:
    text = 'external_id,name\nA,"Ada\nLovelace"\n\nB,Bob\nC\n'
    found = outcomes(text, source="pos")
    assert [type(o).__name__ for o in found] == ["Customer", "Customer", "Rejection"]
    ada, bob, short = found
    assert isinstance(ada, Customer) and ada.line == 2 and ada.reference["name"] == "Ada\nLovelace"
    assert isinstance(bob, Customer) and bob.line == 5
    assert short == Rejection(6, "the row has 1 cells for 2 columns")


def test_csv_cells_are_typed_from_the_schema_and_empty_cells_are_no_value() -> None:
    text = (
        "source,external_id,plan,score,vip,birthday,tags,consent.sms.service\n"
        "pos,A,gold,-12.5e1,Yes,1990-04-01, a ; b ;,false\n"
        "pos,B,,7,,,,\n"
    )
    a, b = outcomes(text)
    assert a == Customer(
        2,
        {"source": "pos", "external_id": "A"},
        {
            "plan": "gold",
            "score": -125.0,
            "vip": True,
            "birthday": "1990-04-01",
            "tags": ["a", "b"],
        },
        {("sms", "service"): False},
    )
    assert b == Customer(3, {"source": "pos", "external_id": "B"}, {"score": 7})


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",,Ada,,,", "external_id: missing"),
        ("pos,A,,lots,,", "score: must be a number"),
        ("pos,A,,,maybe,", "vip: must be true or false"),
        ("pos,A,,,,1990-02-30", "birthday: must be a date"),
        ("pos,A,,1e400,,", "score: must be a number"),
    ],
)
def test_a_bad_csv_row_is_rejected_with_its_line_and_column(row: str, reason: str) -> None:
    [found] = outcomes("source,external_id,name,score,vip,birthday\n" + row + "\n")
    assert isinstance(found, Rejection) and found.line == 2 and found.reason.startswith(reason)


def test_unknown_columns_and_consent_names_are_rejected_by_row() -> None:
    text = "external_id,shoe,consent.fax.marketing\nA,42,\nB,,true\nC,,\n"
    first, second, third = outcomes(text, source="pos")
    assert first == Rejection(2, "shoe: unknown attribute (not declared)")
    assert second == Rejection(3, "consent.fax.marketing: no such consent channel and purpose")
    assert isinstance(third, Customer)


def test_a_row_without_source_needs_the_default() -> None:
    [found] = outcomes("external_id\nA\n")
    assert found == Rejection(2, "source: missing; add the column or ?source=")
    [given] = outcomes("external_id,source\nA,web\n", source="pos")
    assert isinstance(given, Customer) and given.reference["source"] == "web"


def test_ndjson_rows_keep_json_types_and_may_nest_attributes() -> None:
    text = "\n".join(
        [
            '{"source": "pos", "external_id": "A", "score": 3, "attributes": {"vip": true}}',
            "",
            '{"source": "pos", "external_id": "B", "vip": "true"}',
            "[1, 2]",
            '{"source": "pos", "external_id": 7}',
            '{"source": "pos", "external_id": "C", "tags": "a;b"}',
        ]
    )
    a, b, c, d, e = outcomes(text, "ndjson")
    assert a == Customer(1, {"source": "pos", "external_id": "A"}, {"score": 3, "vip": True})
    assert b == Rejection(3, "vip: must be true or false")
    assert c == Rejection(4, "the row not a JSON object")
    assert d == Rejection(5, "external_id: must be a text")
    assert isinstance(e, Rejection) and e.reason.startswith("tags: must be a list")


def test_a_good_row_becomes_a_registration_and_its_consent() -> None:
    row = Customer(
        7,
        {"source": "pos", "external_id": "A", "email": "ada@example.com"},
        {"plan": "gold"},
        {("email", "marketing"): True},
    )
    built = registration.events(IMPORTER, row, NOW)
    assert isinstance(built, list)
    registered, consent = built
    assert registered.type == "crm.inbound.customer_registered.v1"
    assert registered.source == f"/imports/{IMPORTER.import_id}"
    assert registered.data["partner_event_id"] == f"import:{IMPORTER.import_id}:7"
    assert registered.data["activity"]["attributes"] == {"plan": "gold"}
    assert registered.data["activity"]["channel"] == "import"
    assert consent.type == "crm.inbound.consent_changed.v1" and consent.time == NOW
    again = registration.events(IMPORTER, row, NOW)
    assert isinstance(again, list) and [e.id for e in again] == [registered.id, consent.id]


def test_the_edge_refuses_a_row_naming_the_column_never_the_value() -> None:
    row = Customer(3, {"source": "pos", "external_id": "A", "email": "not-an-email"})
    refused = registration.events(IMPORTER, row, NOW)
    assert isinstance(refused, Rejection) and refused.reason.startswith("email: ")
    assert "not-an-email" not in refused.reason
    elsewhere = Customer(4, {"source": "web", "external_id": "A"})
    assert registration.events(IMPORTER, elsewhere, NOW) == Rejection(
        4, "source: this API key may not post for source 'web'"
    )
    no_consent = registration.Importer(
        **{**IMPORTER.__dict__, "event_types": ["customer.registered"]}
    )
    consenting = Customer(5, {"source": "pos", "external_id": "A"}, {}, {("sms", "service"): True})
    refused_consent = registration.events(no_consent, consenting, NOW)
    assert isinstance(refused_consent, Rejection) and refused_consent.reason.startswith("consent")


def test_the_cli_shows_progress_and_the_rejected_lines() -> None:
    job = {
        "state": "done",
        "rows": 4,
        "rows_read": 2,
        "accepted": 1,
        "rejected": 3,
        "rejections": [{"line": 3, "reason": "email: bad"}, {"line": 5, "reason": "score: bad"}],
        "failure": None,
    }
    assert import_cli.bar(job, 2.0) == (
        f"[{'#' * 15}{'.' * 15}] 2/4 rows  accepted 1  rejected 3  1 rows/s"
    )
    out = io.StringIO()
    assert import_cli.report(job, out) == import_cli.SOME_REJECTED
    assert out.getvalue().splitlines() == [
        "line 3: email: bad",
        "line 5: score: bad",
        "… and 1 more rejected rows (the job lists the first ones)",
    ]
    failed = {**job, "state": "failed", "rejected": 0, "rejections": [], "failure": "stopped"}
    assert import_cli.report(failed, io.StringIO()) == import_cli.FAILED
    clean = {**job, "rejected": 0, "rejections": []}
    assert import_cli.report(clean, io.StringIO()) == import_cli.ALL_IMPORTED
