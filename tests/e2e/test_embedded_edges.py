"""No input answers 500: odd instants, cursors, numbers, texts and bodies on every
route, through the gateway in embedded mode (the same apps as the topology)."""

from __future__ import annotations

import base64
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import purchase
from tests.e2e.embedded import embedded_client

CUSTOMER = uuid.UUID(int=7)


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with embedded_client(tmp_path_factory.mktemp("embedded")) as client:
        yield client


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


FAR_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1899-12-31T00:00:00Z"]
BAD_CURSORS = [
    _cursor(f"0001-01-01T00:00:00+01:00|{CUSTOMER}"),
    _cursor(f"9999-12-31T23:59:59-01:00|{CUSTOMER}"),
    _cursor(f"2026-01-01T00:00:00|{CUSTOMER}"),
    "!!!",
]
ODD_READS: list[tuple[str, dict[str, str]]] = [
    *(("/v1/lifecycle/funnel", {"as_of": t}) for t in [*FAR_TIMES, "2026-01-01T00:00:00"]),
    *(("/v1/feedback/scores", {"from": t}) for t in FAR_TIMES),
    *(("/v1/feedback/scores", {"to": t}) for t in [*FAR_TIMES, "0001-01-01T00:00:00Z"]),
    *((f"/v1/customers/{CUSTOMER}/loyalty/ledger", {"cursor": c}) for c in BAD_CURSORS),
    *((f"/v1/customers/{CUSTOMER}/complaints", {"cursor": c}) for c in BAD_CURSORS),
    ("/v1/lifecycle/customers", {"cursor": "not-a-customer-id"}),
    ("/v1/lifecycle/customers", {"limit": "99999999999999999999999"}),
    ("/v1/customers/lookup", {"source": "pos\x00", "external_id": "C\x00"}),
]


@pytest.mark.parametrize(("path", "params"), ODD_READS)
async def test_odd_query_parameters_are_a_422_never_a_500(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    answer = await client.get(path, params=params)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("cursor", BAD_CURSORS[:3])
@pytest.mark.parametrize(
    "path",
    [f"/v1/customers/{CUSTOMER}/loyalty/ledger", f"/v1/customers/{CUSTOMER}/complaints"],
)
async def test_a_cursor_holding_a_naive_or_far_time_is_an_invalid_cursor(
    client: httpx.AsyncClient, path: str, cursor: str
) -> None:
    answer = await client.get(path, params={"cursor": cursor})

    assert answer.json()["type"] == "urn:crm:problem:invalid-cursor"


async def test_a_malformed_customer_list_cursor_is_an_invalid_cursor(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/v1/lifecycle/customers", params={"cursor": "zz"})

    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:crm:problem:invalid-cursor"


@pytest.mark.parametrize("as_of", FAR_TIMES)
async def test_a_model_fit_as_of_a_far_time_is_a_422(client: httpx.AsyncClient, as_of: str) -> None:
    answer = await client.post("/v1/lifecycle/model/fit", json={"as_of": as_of})

    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("occurred_at", FAR_TIMES)
async def test_an_event_at_a_far_time_is_refused_alone_in_its_batch(
    client: httpx.AsyncClient, occurred_at: str
) -> None:
    far = {**purchase("far-1", "F-1", "O-1"), "occurred_at": occurred_at}
    near = purchase(f"near-{uuid.uuid4().hex}", "F-2", "O-2")

    single = await client.post("/v1/events", json=far)
    batch = await client.post("/v1/events/batch", json={"events": [far, near]})

    assert single.status_code == 422
    assert single.json()["errors"][0]["field"] == "occurred_at"
    assert batch.status_code == 202
    assert [r["status"] for r in batch.json()["results"]] == ["rejected", "accepted"]


async def test_a_nul_character_in_a_redemption_reason_is_a_422(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        f"/v1/customers/{CUSTOMER}/loyalty/redemptions",
        json={"points": 1, "reason": "gift\x00"},
        headers={"Idempotency-Key": "nul-1"},
    )

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "reason"


def _padded(body: dict[str, Any], size: int) -> dict[str, Any]:
    return {**body, "padding": "x" * size}


async def test_forwarded_routes_refuse_a_body_past_the_services_limit(
    client: httpx.AsyncClient,
) -> None:
    redemption = _padded({"points": 1, "reason": "gift"}, 2 * 1024 * 1024)
    fit = _padded({"as_of": "2026-01-01T00:00:00Z"}, 2 * 1024 * 1024)

    redeemed = await client.post(
        f"/v1/customers/{CUSTOMER}/loyalty/redemptions",
        json=redemption,
        headers={"Idempotency-Key": "big-1"},
    )
    fitted = await client.post("/v1/lifecycle/model/fit", json=fit)

    for answer in (redeemed, fitted):
        assert answer.status_code == 413, answer.text
        assert answer.json()["type"] == "urn:crm:problem:body-too-large"


async def test_the_gateway_refuses_a_body_past_its_own_limit_before_reading_it(
    client: httpx.AsyncClient,
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for _ in range(160):
            yield b" " * (64 * 1024)  # 10 MiB, past the gateway's 8 MiB

    declared = await client.post(
        "/v1/events/batch",
        content=b" " * (9 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    streamed = await client.post(
        "/v1/events/batch", content=stream(), headers={"content-type": "application/json"}
    )

    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json()["type"] == "urn:crm:problem:body-too-large"


async def test_sqlite_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    async with embedded_client(tmp_path) as client:
        assert (await client.post("/v1/events", json=purchase("m-1", "M-1", "O-1"))).is_success
        folder = tmp_path / "embedded"
        files = list(folder.iterdir())

        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert {f.name for f in files} >= {"gateway.db", "loyalty.db", "gateway.db-wal"}
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain; note=json", 415),
        ("application/jsonp", 415),
        ("application/json; charset=latin-1", 415),
        ("application/json; charset=utf-8", 202),
        ("application/cloudevents+json", 202),
    ],
)
async def test_ingestion_reads_json_media_types_only(
    client: httpx.AsyncClient, content_type: str, status: int
) -> None:
    event = purchase(f"ct-{uuid.uuid4().hex}", "CT-1", "O-1")
    answer = await client.post(
        "/v1/events", content=httpx.Request("POST", "/", json=event).content,
        headers={"content-type": content_type},
    )  # fmt: skip

    assert answer.status_code == status, answer.text


async def test_an_unknown_field_in_data_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    event = purchase("colour-1", "CO-1", "O-1")
    event["data"]["colour"] = "red"

    answer = await client.post("/v1/events", json=event)

    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["data.colour"]
