"""What the OpenAPI contract allows, the API accepts, through the gateway in embedded mode:
any cursor its pattern allows resumes a list, any instant its pattern allows is taken, a
whole number written as a float is that number; and a batch refuses what it does not
describe. Each was a schema-valid request answered 422 (or an invalid one answered 202)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.conftest import purchase
from tests.e2e.embedded import embedded_client

CUSTOMER = uuid.UUID(int=7)
FIRST, LAST = "0" * 16 + "." + "0" * 32, "9" * 16 + "." + "f" * 32


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with embedded_client(tmp_path_factory.mktemp("embedded")) as client:
        yield client


@pytest.mark.parametrize("cursor", [FIRST, LAST, "1234567890123456." + "a" * 32])
@pytest.mark.parametrize(
    "path",
    [f"/v1/customers/{CUSTOMER}/complaints", "/v1/profile/merge-candidates",
     "/v1/admin/api-keys"],
)  # fmt: skip
async def test_any_keyset_cursor_the_pattern_allows_resumes_a_list(
    client: httpx.AsyncClient, path: str, cursor: str
) -> None:
    answer = await client.get(path, params={"cursor": cursor})

    assert answer.status_code == 200, answer.text


async def test_any_id_cursor_the_pattern_allows_resumes_the_customer_list(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/v1/lifecycle/customers", params={"cursor": str(uuid.UUID(int=0))})

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("path", "params"),
    [("/v1/lifecycle/funnel", {"as_of": "2100-12-31T23:59:59-23:59"}),
     ("/v1/feedback/scores", {"from": "1900-01-01T00:00:00+14:00"}),
     ("/v1/feedback/scores", {"from": "2000-02-29T12:00:00.5+05:30"})],
)  # fmt: skip
async def test_any_instant_the_pattern_allows_is_accepted(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    answer = await client.get(path, params=params)

    assert answer.status_code == 200, answer.text


async def test_a_whole_number_written_as_a_float_is_that_integer(
    client: httpx.AsyncClient,
) -> None:
    event = purchase(f"float-{uuid.uuid4().hex}", "FL-1", "O-1", amount_minor=129900)
    event["data"]["amount_minor"] = 129900.0

    posted = await client.post("/v1/events", json=event)
    fraction = await client.post(
        "/v1/events",
        json={**event, "id": "fraction-1", "data": {**event["data"], "amount_minor": 12.5}},
    )

    assert posted.status_code == 202, posted.text
    assert fraction.status_code == 422
    assert fraction.json()["errors"][0]["field"] == "data.amount_minor"


async def test_a_batch_refuses_members_other_than_events(client: httpx.AsyncClient) -> None:
    event = purchase(f"member-{uuid.uuid4().hex}", "MB-1", "O-1")

    answer = await client.post("/v1/events/batch", json={"events": [event], "mode": "fast"})

    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "mode", "message": "is not a member of a batch; send only events"}
    ]


async def test_a_past_cursor_form_is_refused_as_an_invalid_cursor(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/v1/profile/merge-candidates", params={"cursor": "bm9wZQ=="})

    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:crm:problem:invalid-cursor"
    assert answer.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    "written",
    ["00000000000000000000000000000007", "{00000000-0000-0000-0000-000000000007}",
     "urn:uuid:00000000-0000-0000-0000-000000000007"],
)  # fmt: skip
async def test_an_id_in_a_path_is_written_as_its_format_says(
    client: httpx.AsyncClient, written: str
) -> None:
    answer = await client.get(f"/v1/customers/{written}")
    canonical = await client.get(f"/v1/customers/{CUSTOMER}")

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "path.customer_id"
    assert canonical.status_code == 404
