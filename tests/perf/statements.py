"""Which statements each service's database spends its time on, from pg_stat_statements
(enabled by ``deploy/local/postgres.sh``): reset before a benchmark, read after."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_TOP = text(
    "SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) "
    "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
    "WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT :limit"
)


async def reset(engines: dict[str, AsyncEngine]) -> None:
    for engine in engines.values():
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_stat_statements_reset()"))


async def report(engines: dict[str, AsyncEngine], events: int, limit: int) -> str:
    """The top statements of each database: calls, milliseconds in all and per event."""
    lines = []
    for name, engine in engines.items():
        async with engine.connect() as conn:
            rows = (await conn.execute(_TOP, {"limit": limit})).all()
        total = sum(r[1] for r in rows)
        lines.append(f"{name}: top {len(rows)} statements, {total / events:.3f} ms per event")
        for calls, ms, count, query in rows:
            lines.append(f"  {ms:9.0f} ms {calls:8} calls {count:9} rows  {query}")
    return "\n".join(lines)
