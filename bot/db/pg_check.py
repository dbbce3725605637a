"""`python -m bot check` for a PostgreSQL store: reachable, and at a schema this Tween can use. Changes nothing."""

from __future__ import annotations

import asyncpg

from bot.db.migrate import newest
from bot.db.pg_migrate import pg_schema_version
from bot.db.postgres import describe


async def postgres_facts(url: str, patience: float) -> tuple[bool, str, int | None]:
    """(reachable, what to say, schema version or None)."""
    try:
        conn = await asyncpg.connect(url, timeout=patience)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return False, f"{describe(url)} cannot be reached: {type(exc).__name__}: {exc}", None
    try:
        version = await pg_schema_version(conn)
        server = ".".join(str(part) for part in conn.get_server_version()[:2])
    finally:
        await conn.close()
    if version == 0:
        return True, f"{describe(url)} answers (PostgreSQL {server}); empty: created at v{newest()} on start", None
    return True, f"{describe(url)} answers (PostgreSQL {server})", version
