"""Embedded mode (``make dev``): the same five apps in one process, on SQLite and the
in-memory bus, serve the same flow as the local topology."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.embedded import create_embedded_app
from tests.e2e.conftest import customer_360, eventually, purchase


async def test_embedded_mode_serves_the_purchase_flow_and_seeds_demo_data(tmp_path: Path) -> None:
    app = create_embedded_app(tmp_path)
    async with app.router.lifespan_context(app):
        key = (tmp_path / "bootstrap-api-key").read_text().strip()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://embedded",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            demo, _ = await eventually(
                lambda: customer_360(client, "C-1003"),
                lambda v: (
                    v is not None and v["stage"] == "active" and v["loyalty"]["points_balance"]
                ),
            )
            assert demo["loyalty"]["points_balance"] == 49 + 74  # 49.99 and 74.99 EUR

            answer = await client.post("/v1/events", json=purchase("e-1", "E-1", "O-1"))
            assert answer.status_code == 202
            view, _ = await eventually(
                lambda: customer_360(client, "E-1"),
                lambda v: (
                    v is not None
                    and v["stage"] == "new_customer"
                    and v["loyalty"]["points_balance"]
                ),
            )
            assert view["stage"] == "new_customer"
            assert view["loyalty"]["points_balance"] == 1299
            assert (await client.get("/docs")).status_code == 200
