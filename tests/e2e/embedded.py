"""Embedded mode in a test: the five apps in one process (SQLite and the in-memory bus)
behind the gateway, reached in-process with the bootstrap key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from services.embedded import create_embedded_app


@contextlib.asynccontextmanager
async def embedded_client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh embedded installation in ``data_dir`` (no demo data)."""
    app = create_embedded_app(data_dir, seed=False)
    async with app.router.lifespan_context(app):
        key = (data_dir / "bootstrap-api-key").read_text().strip()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://embedded",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as client:
            yield client
