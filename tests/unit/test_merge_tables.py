"""``customer_merge`` is defined once (``shared.merges.merges_table``) for lifecycle,
loyalty and feedback: the same ids, times and index in each, only what each keeps for
an undo differs; and each service's migrations still create exactly that table (the
factory changed no DDL, so no migration was needed)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from shared.db import create_engine
from shared.merges import merges_table
from shared.migrations import migrate

SHARED = ("tenant_id", "merge_id", "survivor_id", "merged_id", "merged_at", "undone_at")
KEPT = {
    "lifecycle": ("merged_state", "survivor_state"),
    "loyalty": ("merged_account", "survivor_account"),
    "feedback": (),
}


def _shape(table: Any) -> list[tuple[str, str, bool, bool]]:
    return [(c.name, str(c.type), c.nullable, c.primary_key) for c in table.columns]


@pytest.mark.parametrize("service", sorted(KEPT))
def test_each_service_has_the_one_definition(service: str) -> None:
    table = importlib.import_module(f"services.{service}.tables").customer_merge
    reference = merges_table(MetaData(), comment="reference")
    shape = [c for c in _shape(table) if c[0] not in KEPT[service]]
    assert shape == _shape(reference)
    assert [c.name for c in table.columns] == [*SHARED[:4], *KEPT[service], *SHARED[4:]]
    [index] = table.indexes
    assert (index.name, [c.name for c in index.columns]) == (
        "ix_customer_merge_merged",
        ["tenant_id", "merged_id"],
    )


@pytest.mark.parametrize("service", sorted(KEPT))
async def test_the_migrations_create_the_table_as_defined(service: str, tmp_path: Path) -> None:
    tables = importlib.import_module(f"services.{service}.tables")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate(engine, service)
        only = MetaData()
        tables.customer_merge.to_metadata(only)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), only)
            )
    finally:
        await engine.dispose()
    touching = [d for d in diff if "customer_merge" in repr(d)]
    assert touching == []
