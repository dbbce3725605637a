"""The store behind every repository: one SQLite file (the default) or PostgreSQL (several processes).

Repositories write one SQL text for both: `?` or `:name` parameters, and nothing either engine lacks. The
PostgreSQL store (bot/db/postgres.py) translates the parameters; everything else is shared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.migrate import apply_migrations, refuse_newer, schema_version
from bot.db.types import Database, Params, Row, Statement, Transaction

log = logging.getLogger(__name__)


class SqliteTransaction:
    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> Statement:
        return self._conn.execute(sql, _bind(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Statement:
        return self._conn.executemany(sql, rows)


class SqliteDatabase:
    """One long-lived aiosqlite connection, with a lock around transactions."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self, *, lock: str | None = None) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE … COMMIT: one writer at a time, so any `lock` is already held."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement on its own (atomic by itself); return the rows it changed."""
        async with self._lock:
            cursor = await self._conn.execute(sql, _bind(params))
            return cursor.rowcount

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of one statement (also an UPDATE … RETURNING, which runs on its own, atomically)."""
        async with self._lock, self._conn.execute(sql, _bind(params)) as cursor:
            return list(await cursor.fetchall())

    async def ping(self) -> None:
        """One trivial read: raises if the database cannot answer."""
        await self.fetch_one("SELECT 1")

    async def close(self) -> None:
        await self._conn.close()


def _bind(params: Params) -> Mapping[str, Any] | tuple[Any, ...]:
    return params if isinstance(params, Mapping) else tuple(params)


def is_postgres_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


@asynccontextmanager
async def open_database(target: str | Path) -> AsyncIterator[Database]:
    """Open the store `target` names (a SQLite path, or a postgresql:// URL), migrate it, yield, always close."""
    if is_postgres_url(target):
        from bot.db.postgres import open_postgres  # asyncpg is only loaded for a PostgreSQL store

        async with open_postgres(str(target)) as pg:
            yield pg
        return
    async with open_sqlite(target) as db:
        yield db


@asynccontextmanager
async def open_sqlite(path: str | Path) -> AsyncIterator[SqliteDatabase]:
    """Open (creating folders and schema as needed), yield, and always close."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    db = SqliteDatabase(conn)
    try:
        await conn.execute("PRAGMA busy_timeout=5000")
        # Before any PRAGMA that writes (journal_mode): a database from a newer Tween is left exactly as found.
        refuse_newer(await schema_version(conn), path)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        version = await apply_migrations(conn)
        log.info("database ready at %s (schema %d)", path, version)
        yield db
    finally:
        await db.close()


__all__ = ["Database", "Params", "Row", "SqliteDatabase", "Transaction", "open_database"]
