"""One long-lived aiosqlite connection, with a lock around transactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import Result

from bot.db.migrate import apply_migrations, refuse_newer, schema_version

log = logging.getLogger(__name__)


class Transaction:
    """An open unit of work: hand it to the repository calls that must commit or roll back together.
    Services only pass it along; the repositories in bot/db run their statements on it."""

    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> Result[aiosqlite.Cursor]:
        return self._conn.execute(sql, _bind(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Result[aiosqlite.Cursor]:
        return self._conn.executemany(sql, rows)


class Database:
    """Wraps the connection; every write that spans statements goes through `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error; one at a time on this connection."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def execute(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement on its own (atomic by itself); return the rows it changed."""
        async with self._lock:
            cursor = await self._conn.execute(sql, _bind(params))
            return cursor.rowcount

    async def fetch_one(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> list[aiosqlite.Row]:
        """All rows of one statement (also an UPDATE … RETURNING, which runs on its own, atomically)."""
        async with self._lock, self._conn.execute(sql, _bind(params)) as cursor:
            return list(await cursor.fetchall())

    async def ping(self) -> None:
        """One trivial read: raises if the database cannot answer."""
        await self.fetch_one("SELECT 1")

    async def close(self) -> None:
        await self._conn.close()


def _bind(params: Iterable[Any] | Mapping[str, Any]) -> Mapping[str, Any] | tuple[Any, ...]:
    return params if isinstance(params, Mapping) else tuple(params)


@asynccontextmanager
async def open_database(path: str | Path) -> AsyncIterator[Database]:
    """Open (creating folders and schema as needed), yield, and always close."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    db = Database(conn)
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
