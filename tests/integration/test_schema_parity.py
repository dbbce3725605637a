"""Both stores hold the same schema: every table and column SQLite's migrations make, PostgreSQL's make too, with the
same nullability. A migration written for one dialect only fails here, not in an operator's move."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from bot.db.connection import open_database

# Each engine's own bookkeeping of which migrations ran.
BOOKKEEPING = {"schema_version", "tween_schema", "sqlite_sequence"}


async def sqlite_schema(path: Path) -> dict[str, dict[str, bool]]:
    async with open_database(str(path)) as db:
        tables = [r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        schema = {}
        for table in tables:
            columns = await db.fetch_all(f"SELECT name, \"notnull\", pk FROM pragma_table_info('{table}')")
            # SQLite lets an INTEGER PRIMARY KEY be NULL on paper; it never is.
            schema[table] = {c[0]: bool(c[1] or c[2]) for c in columns}
    return {t: c for t, c in schema.items() if t not in BOOKKEEPING}


async def postgres_schema(url: str) -> dict[str, dict[str, bool]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    schema: dict[str, dict[str, bool]] = {}
    for row in rows:
        schema.setdefault(row["table_name"], {})[row["column_name"]] = row["is_nullable"] == "NO"
    return {t: c for t, c in schema.items() if t not in BOOKKEEPING}


async def test_sqlite_and_postgresql_migrations_make_the_same_tables_and_columns(tween_postgres_url: str, tmp_path):
    on_sqlite = await sqlite_schema(tmp_path / "tween.sqlite3")
    on_postgres = await postgres_schema(tween_postgres_url)
    assert {"jobs", "ledger", "pots", "shard_leases"} <= set(on_sqlite)  # the check reads what it should
    assert sorted(on_postgres) == sorted(on_sqlite)
    for table, columns in on_sqlite.items():
        assert on_postgres[table] == columns, table
