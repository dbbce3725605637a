"""Counting what a process asks PostgreSQL: statements sent (asyncpg's calls, counted in this process) and the
transactions the server committed for a database (its own statistics, read once the processes are gone)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import asyncpg
from asyncpg.connection import Connection

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SAVEPOINT", "RELEASE")
counts = {"statements": 0}


def count_statements() -> None:
    """From now on, every statement this process sends through asyncpg is counted (BEGIN/COMMIT are not)."""

    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def wrapper(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            if not query.lstrip().upper().startswith(_CONTROL):
                counts["statements"] += 1
            return await method(self, query, *args, **kwargs)

        return wrapper

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        setattr(Connection, name, counting(getattr(Connection, name)))


async def committed(admin_url: str, database: str) -> int:
    """Transactions the server committed in `database` so far (pg_stat_database; flushed as backends exit)."""
    conn = await asyncpg.connect(admin_url)
    try:
        return int(await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database))
    finally:
        await conn.close()
