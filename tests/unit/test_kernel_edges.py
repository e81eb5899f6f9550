"""The kernel's edges: bounded instants and cursors, the body limit, database errors
answered without leaking what the rows hold."""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from structlog.testing import LogCapture

from shared.body_limit import BodyLimit
from shared.cursors import InvalidCursor, decode_id, decode_keyset, encode_keyset
from shared.db import create_engine
from shared.instants import Instant
from shared.problems import install_problem_handlers

EMAIL = "li.wei@example.com"


@contextlib.contextmanager
def rendered_logs() -> Iterator[list[dict[str, object]]]:
    """Log entries with their tracebacks rendered to text, as the log files get them."""
    capture = LogCapture()
    old = structlog.get_config()["processors"]
    structlog.configure(processors=[structlog.processors.format_exc_info, capture])
    try:
        yield capture.entries
    finally:
        structlog.configure(processors=old)


class Window(BaseModel):
    at: Instant


# Instants


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "2026-11-20T10:15:00",
    ],
)
def test_an_instant_without_an_offset_or_outside_1900_to_2100_is_refused(value):
    with pytest.raises(ValidationError):
        Window.model_validate({"at": value})


def test_an_instant_is_converted_to_utc_at_validation():
    at = Window.model_validate({"at": "2026-11-20T18:15:00+08:00"}).at

    assert at == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert at.tzinfo is UTC


def test_the_edges_of_the_range_are_accepted():
    assert Window.model_validate({"at": "1900-01-01T00:00:00Z"}).at.year == 1900
    assert Window.model_validate({"at": "2100-12-31T23:59:59Z"}).at.year == 2100


# Cursors


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_a_keyset_cursor_round_trips():
    at, row_id = datetime(2026, 11, 20, 10, 15, tzinfo=UTC), uuid.uuid4()

    assert decode_keyset(encode_keyset(at, row_id)) == (at, row_id)


@pytest.mark.parametrize(
    "cursor",
    [
        _b64(f"0001-01-01T00:00:00+01:00|{uuid.UUID(int=0)}"),
        _b64(f"9999-12-31T23:59:59-01:00|{uuid.UUID(int=0)}"),
        _b64(f"2026-01-01T00:00:00|{uuid.UUID(int=0)}"),
        _b64("2026-01-01T00:00:00+00:00|not-a-uuid"),
        _b64("2026-01-01T00:00:00+00:00"),
        base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
        "!!!",
        "a",
        "é",
    ],
    ids=[
        "year-1",
        "year-9999",
        "naive",
        "bad-id",
        "no-id",
        "not-utf8",
        "not-b64",
        "short",
        "non-ascii",
    ],
)
def test_a_cursor_we_did_not_give_out_is_refused(cursor):
    with pytest.raises(InvalidCursor):
        decode_keyset(cursor)


def test_an_id_cursor_must_be_a_uuid():
    with pytest.raises(InvalidCursor):
        decode_id("not-a-uuid")


# The body limit


def _echo_app(limit: int) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, limit=limit)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    @app.post("/model")
    async def model(body: dict[str, str]) -> dict[str, int]:
        return {"fields": len(body)}

    return app


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("route", ["/echo", "/model"])
async def test_a_declared_body_above_the_limit_is_413_before_the_route_runs(route):
    async for client in _client(_echo_app(1024)):
        answer = await client.post(route, content=b"{" + b" " * 2000 + b"}")

    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:crm:problem:body-too-large"
    assert "1024" in answer.json()["detail"]


@pytest.mark.parametrize("route", ["/echo", "/model"])
async def test_a_streamed_body_is_cut_off_past_the_limit(route):
    async for client in _client(_echo_app(100_000)):
        answer = await client.post(route, content=_chunks(1024 * 1024))

    assert answer.status_code == 413
    assert answer.json()["type"] == "urn:crm:problem:body-too-large"


async def test_a_body_within_the_limit_is_read_whole():
    async for client in _client(_echo_app(100_000)):
        streamed = await client.post("/echo", content=_chunks(64 * 1024))
        declared = await client.post("/echo", content=b"x" * 100_000)

    assert streamed.json() == {"read": 64 * 1024}
    assert declared.json() == {"read": 100_000}


async def test_a_content_length_that_is_no_number_is_400():
    async for client in _client(_echo_app(1024)):
        answer = await client.post("/echo", content=b"{}", headers={"content-length": "1e9"})

    assert answer.status_code == 400


# Database errors


async def test_sql_parameters_never_appear_in_errors(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE person (email TEXT UNIQUE)"))
    try:
        with pytest.raises(IntegrityError) as raised:
            async with engine.begin() as conn:
                for _ in range(2):
                    await conn.execute(text("INSERT INTO person VALUES (:e)"), {"e": EMAIL})
    finally:
        await engine.dispose()

    assert EMAIL not in str(raised.value)


def _database_app(url: str) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/people")
    async def add_person() -> dict[str, str]:
        engine = create_engine(url, sqlite_busy_seconds=0.05)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO person VALUES (:e)"), {"e": EMAIL})
        finally:
            await engine.dispose()
        return {"status": "added"}

    return app


async def test_a_locked_sqlite_database_is_a_503_with_retry_after(tmp_path: Path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE person (email TEXT)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with rendered_logs() as logs:
            async for client in _client(_database_app(f"sqlite+aiosqlite:///{path}")):
                answer = await client.post("/people")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["type"] == "urn:crm:problem:database-busy"
    assert EMAIL not in answer.text and EMAIL not in repr(logs)


async def test_a_database_error_in_a_route_keeps_the_rows_values_out_of_logs(tmp_path: Path):
    path = tmp_path / "unique.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE person (email TEXT UNIQUE)")
        setup.execute("INSERT INTO person VALUES (?)", (EMAIL,))
    with rendered_logs() as logs:
        async for client in _client(_database_app(f"sqlite+aiosqlite:///{path}")):
            answer = await client.post("/people")

    assert answer.status_code == 500
    assert logs and EMAIL not in repr(logs)
    assert EMAIL not in answer.text
