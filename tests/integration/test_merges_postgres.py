"""``shared.merges`` on real PostgreSQL: the same order id on both sides of a merge (one
that fits its renamed key, one too long for it), and what came through the merged id
meanwhile; the undo gives each side exactly its own (as the fast tier's property test
checks on SQLite)."""

from __future__ import annotations

import pytest

from shared.db import create_engine
from tests.integration.services import Infra, create_database, drop_database
from tests.unit.test_shared_merges import merge_and_undo

CASES = [
    ({"O-1", "O-2"}, {"O-1", "O-3"}, {"O-3", "O-4"}),
    ({"A-long-order-id-1", "O-1"}, {"A-long-order-id-1", "O-1"}, {"O-2"}),
    (set(), {"O-1"}, {"O-1", "O-2"}),
]


@pytest.mark.parametrize(("ours", "theirs", "late"), CASES)
async def test_a_merge_and_its_undo_on_postgres(infra: Infra, ours, theirs, late) -> None:
    await create_database(infra, "merges")
    engine = create_engine(infra.database_url("merges"))
    try:
        await merge_and_undo(engine, ours, theirs, late)
    finally:
        await engine.dispose()
        await drop_database(infra, "merges")
