"""Settings for real infrastructure: where a service listens, how many database
connections it keeps, and which services need the churn model's libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import services.__main__ as entry
from shared.db import engine_for
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``python -m services profile`` hands to uvicorn (which is not started)."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **options: seen.update(options))
    # Logging is the process's, set up once: a test must not reconfigure it for the others.
    monkeypatch.setattr(entry, "configure_logging", lambda level, format: None)
    monkeypatch.setattr(sys, "argv", ["services", "profile"])
    monkeypatch.setenv("CRM_PROFILE_PORT", "18001")
    return seen


def test_a_service_listens_on_loopback_by_default(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_BIND_HOST", raising=False)
    entry.main()
    assert (served["host"], served["port"]) == ("127.0.0.1", 18001)


def test_a_service_listens_where_crm_bind_host_says(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_BIND_HOST", "0.0.0.0")
    entry.main()
    assert (served["host"], served["port"]) == ("0.0.0.0", 18001)


async def test_the_database_pool_is_sized_by_the_settings() -> None:
    settings = ServiceSettings(
        database_url="postgresql+asyncpg://crm@127.0.0.1:9/crm_profile",
        db_pool_size=3,
        db_max_overflow=2,
    )
    engine = engine_for(settings)  # builds the pool; connects to nothing
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def test_pool_sizes_are_bounded() -> None:
    with pytest.raises(ValueError, match="db_pool_size"):
        ServiceSettings(db_pool_size=0)


BLOCK_MODEL = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("numpy", "scipy"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Blocked())
from services import definition
"""


def _without_model(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_MODEL + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_only_lifecycle_needs_the_model_extra() -> None:
    """The image of gateway, profile, feedback and loyalty is built without numpy and
    scipy: none of them may import them, directly or through the kernel."""
    done = _without_model(
        "for name in ('gateway', 'profile', 'feedback', 'loyalty'): definition(name)\n"
        "import services.__main__, shared.migrations, shared.topics_admin, shared.deadletter\n"
        "print('ok')"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_lifecycle_without_the_model_extra_says_what_to_install() -> None:
    done = _without_model("definition('lifecycle')")
    assert done.returncode != 0
    assert "install crm-lifecycle[model]" in done.stderr
