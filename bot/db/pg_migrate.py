"""PostgreSQL's migrations: bot/db/migrations/postgresql, numbered as SQLite's, from a baseline.

PostgreSQL support began at schema v6, so its first file builds that schema whole; every later number exists in
both folders and brings both engines to the same schema.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import asyncpg

from bot.db.migrate import MIGRATIONS, refuse_newer

log = logging.getLogger(__name__)

PG_MIGRATIONS = MIGRATIONS / "postgresql"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK = "tween:migrate"


def pg_available() -> list[tuple[int, Path]]:
    """The baseline and every migration after it, checked to run without gaps."""
    found = sorted((int(m.group(1)), p) for p in PG_MIGRATIONS.iterdir() if (m := _NAME.match(p.name)))
    if not found:
        raise RuntimeError("no PostgreSQL migrations found")
    for expected, (number, path) in enumerate(found, start=found[0][0]):
        if number != expected:
            raise RuntimeError(f"migration postgresql/{path.name} is out of sequence (expected {expected:04d})")
    return found


async def pg_schema_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('tween_schema') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT version FROM tween_schema") or 0)


async def apply_pg_migrations(conn: asyncpg.Connection, where: str, target: int | None = None) -> int:
    """Bring the schema up to date, each file in its own transaction; processes starting together take turns."""
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", _LOCK)
    try:
        current = await pg_schema_version(conn)
        refuse_newer(current, where)
        for number, path in pg_available():
            if number <= current or (target is not None and number > target):
                continue
            log.info("applying migration postgresql/%s", path.name)
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("CREATE TABLE IF NOT EXISTS tween_schema (version INTEGER NOT NULL)")
                await conn.execute("DELETE FROM tween_schema")
                await conn.execute("INSERT INTO tween_schema (version) VALUES ($1)", number)
            current = number
        return current
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", _LOCK)
