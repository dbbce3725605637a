"""The PostgreSQL store (asyncpg): the same Database API over a connection pool, for several processes at once.

Statements arrive in the repositories' portable SQL (`?` and `:name` parameters) and are rewritten once to
PostgreSQL's `$n`. Transactions are READ COMMITTED: every change of money is one conditional UPDATE of one row,
which PostgreSQL re-checks against the row's newest version after taking its lock, so concurrent reservations from
any number of processes never overdraw a pot. Critical sections that count rows across a table (the claim of a
slot at fal) name a lock, taken as a transaction-scoped advisory lock.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any

import asyncpg

from bot.db.pg_migrate import apply_pg_migrations
from bot.db.types import Params, Row, Statement, Transaction

log = logging.getLogger(__name__)

# Quoted text and identifiers are copied as they are; `::` is a cast; `:name` and `?` are parameters.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|:([A-Za-z_][A-Za-z0-9_]*)|\?")


@lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """The statement in PostgreSQL's `$n` style, and the parameter names in `$n` order (None: positional)."""
    names: list[str] = []
    positional = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal positional
        token = match.group(0)
        if match.group(1):
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"
        if token == "?":
            positional += 1
            return f"${positional}"
        return token

    text = _TOKENS.sub(swap, sql)
    if names and positional:
        raise ValueError("a statement mixes :name and ? parameters")
    return text, (tuple(names) if names else None)


def _arguments(sql: str, params: Params) -> tuple[str, list[Any]]:
    text, names = translate(sql)
    if isinstance(params, Mapping):
        if names is None:
            return text, []
        return text, [params[name] for name in names]
    return text, list(params)


class PgRow:
    """A row by name or position, with exact numbers: SUM and AVG come back from PostgreSQL as Decimal."""

    __slots__ = ("_index", "_values")

    def __init__(self, record: asyncpg.Record) -> None:
        self._index = {key: i for i, key in enumerate(record.keys())}
        self._values = tuple(_plain(v) for v in record.values())

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._index[key]]

    def keys(self) -> Iterable[str]:
        return self._index.keys()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PgRow) and (self._index, self._values) == (other._index, other._values)

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=True))!r})"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class PgCursor:
    def __init__(self, rows: Sequence[PgRow], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> PgRow | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[PgRow]:
        return list(self._rows)


def _count(status: str) -> int:
    """The row count in a command tag such as "UPDATE 3" or "INSERT 0 1"."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgStatement:
    """Awaited: run for its row count. Entered: run and keep its rows."""

    def __init__(self, conn: asyncpg.Connection, sql: str, params: Params) -> None:
        self._conn = conn
        self._sql, self._args = _arguments(sql, params)

    def __await__(self) -> Iterator[Any]:
        return self._run_for_count().__await__()

    async def _run_for_count(self) -> PgCursor:
        return PgCursor([], _count(await self._conn.execute(self._sql, *self._args)))

    async def __aenter__(self) -> PgCursor:
        rows = [PgRow(r) for r in await self._conn.fetch(self._sql, *self._args)]
        return PgCursor(rows, len(rows))

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgManyStatement:
    def __init__(self, conn: asyncpg.Connection, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        self._conn = conn
        self._sql = translate(sql)[0]
        self._rows = [tuple(r) for r in rows]

    def __await__(self) -> Iterator[Any]:
        return self._run().__await__()

    async def _run(self) -> PgCursor:
        await self._conn.executemany(self._sql, self._rows)
        return PgCursor([], len(self._rows))

    async def __aenter__(self) -> PgCursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgTransaction:
    __slots__ = ("_conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> Statement:
        return PgStatement(self._conn, sql, params)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Statement:
        return PgManyStatement(self._conn, sql, rows)


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self, *, lock: str | None = None) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            if lock is not None:
                # Held until COMMIT or ROLLBACK, by whichever process asks: one critical section at a time.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lock)
            yield PgTransaction(conn)

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, args = _arguments(sql, params)
        async with self._pool.acquire() as conn:
            return _count(await conn.execute(text, *args))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = _arguments(sql, params)
        async with self._pool.acquire() as conn:
            return [PgRow(r) for r in await conn.fetch(text, *args)]

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A raw connection of the pool, for what only PostgreSQL has (LISTEN, advisory session locks)."""
        async with self._pool.acquire() as conn:
            yield conn

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1")

    async def close(self) -> None:
        await self._pool.close()


def describe(url: str) -> str:
    """The URL without its password, for logs."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


@asynccontextmanager
async def open_postgres(url: str, *, pool_size: int = 10) -> AsyncIterator[PostgresDatabase]:
    """Connect, bring the schema up to date (one process at a time), yield, and always close."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, command_timeout=60)
    db = PostgresDatabase(pool)
    try:
        async with pool.acquire() as conn:
            version = await apply_pg_migrations(conn, describe(url))
        log.info("database ready at %s (schema %d)", describe(url), version)
        yield db
    finally:
        await db.close()
