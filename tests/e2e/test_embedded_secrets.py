"""Embedded mode says where the bootstrap key is kept, never the key, and keeps it private;
its services answer only its own gateway."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.embedded import create_embedded_app


async def test_embedded_mode_never_prints_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_embedded_app(tmp_path, seed=False)
    async with app.router.lifespan_context(app):
        key_file = tmp_path / "bootstrap-api-key"
        key = key_file.read_text().strip()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://embedded"
        ) as client:
            listed = await client.get(
                "/v1/admin/api-keys", headers={"Authorization": f"Bearer {key}"}
            )
    printed = capsys.readouterr()
    assert key not in printed.out + printed.err
    assert str(key_file.resolve()) in printed.out
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert listed.status_code == 200 and key not in listed.text
