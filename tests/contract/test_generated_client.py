"""A client generated from the gateway's OpenAPI document is enough to use the API:
``openapi-python-client`` (a dev dependency) generates it from the document an embedded
installation serves, with no warning, and the generated code alone drives a purchase,
the customer 360 and a redemption (typed bodies, answers and problems)."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from services.embedded import create_embedded_app

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "crm_generated_client"
# The generator knows JSON, forms and binary bodies; an import file (CSV or NDJSON text)
# is an upload of bytes to it, sent under its own content type.
CONFIG = (
    "content_type_overrides:\n"
    "  text/csv: application/octet-stream\n"
    "  application/x-ndjson: application/octet-stream\n"
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
async def app(data_dir: Path) -> AsyncIterator[Starlette]:
    app = create_embedded_app(data_dir, seed=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def generated(app: Starlette, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package, generated from the served document and imported."""
    where = tmp_path_factory.mktemp("client")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        (where / "openapi.json").write_bytes((await c.get("/openapi.json")).content)
    (where / "config.yaml").write_text(CONFIG)
    environment = {**os.environ, "PATH": f"{GENERATOR.parent}:{os.environ.get('PATH', '')}"}
    run = await asyncio.create_subprocess_exec(
        str(GENERATOR), "generate", "--path", str(where / "openapi.json"),
        "--output-path", str(where / PACKAGE), "--meta", "none",
        "--config", str(where / "config.yaml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=environment,
    )  # fmt: skip
    output = (await asyncio.wait_for(run.communicate(), 300))[0].decode()
    assert run.returncode == 0, output
    assert "will not be generated" not in output and "Warning" not in output, output
    sys.path.insert(0, str(where))
    return importlib.import_module(PACKAGE)


@pytest.fixture
def unload() -> Iterator[None]:
    yield
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def _until(call: Callable[[], Any], holds: Callable[[Any], bool]) -> Any:
    async with asyncio.timeout(20):
        while True:
            answer = await call()
            if holds(answer):
                return answer
            await asyncio.sleep(0.2)


async def test_a_generated_client_drives_purchase_360_and_redemption(
    app: Starlette, data_dir: Path, generated: ModuleType, unload: None
) -> None:
    key = (data_dir / "bootstrap-api-key").read_text().strip()
    client = generated.AuthenticatedClient(base_url="http://embedded", token=key)
    client.set_async_httpx_client(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://embedded",
            headers={"Authorization": f"Bearer {key}"},
        )
    )
    models, api = _module("models"), "api"
    post_event = _module(f"{api}.ingestion.post_event_v1_events_post")
    lookup = _module(f"{api}.customers.lookup_customer_v1_customers_lookup_get")
    get_360 = _module(f"{api}.customers.get_customer_v1_customers_customer_id_get")
    redeem = _module(
        f"{api}.loyalty.redeem_points_v1_customers_customer_id_loyalty_redemptions_post"
    )
    external = f"G-{uuid.uuid4().hex[:8]}"

    purchase = models.PostEventV1EventsPostPurchaseCompleted(
        id=f"gen-{external}",
        type_="purchase.completed",
        occurred_at=datetime.now(UTC),
        customer=models.PostEventV1EventsPostPurchaseCompletedCustomerRef(
            source="pos", external_id=external
        ),
        data=models.PostEventV1EventsPostPurchaseCompletedPurchaseCompleted(
            order_id="O-1",
            amount_minor=100000,
            currency=models.PostEventV1EventsPostPurchaseCompletedPurchaseCompletedCurrency.CNY,
            channel="store",
        ),
    )
    accepted = await post_event.asyncio(client=client, body=purchase)
    assert isinstance(accepted, models.EventAccepted) and accepted.status == "accepted"

    found = await _until(
        lambda: lookup.asyncio(client=client, source="pos", external_id=external),
        lambda answer: isinstance(answer, models.CustomerRefFound),
    )
    view = await _until(
        lambda: get_360.asyncio(found.customer_id, client=client),
        lambda answer: (
            isinstance(answer, models.Customer360) and answer.loyalty.points_balance == 1000
        ),
    )
    assert view.customer_id == found.customer_id

    request = models.RedemptionRequest(points=300, reason="gift card")
    entry = await redeem.asyncio(
        found.customer_id, client=client, body=request, idempotency_key=f"r-{external}"
    )
    assert isinstance(entry, models.LedgerEntry) and entry.points == -300
    too_much = models.RedemptionRequest(points=5000, reason="gift card")
    refused = await redeem.asyncio(
        found.customer_id, client=client, body=too_much, idempotency_key=f"x-{external}"
    )
    assert isinstance(refused, models.Problem) and refused.status == 409
    after = await get_360.asyncio(found.customer_id, client=client)
    assert isinstance(after, models.Customer360) and after.loyalty.points_balance == 700
