"""The tests' own view of a store, whichever it is: a SQLite path or a PostgreSQL URL."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg

from bot.db.connection import is_postgres_url, open_database
from bot.db.copy import copy_all
from bot.db.postgres import translate
from tests.support.postgres import run_sync


def query(target: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement (written with ? marks), read beside the bot as an operator's SQL shell would."""
    if is_postgres_url(target):
        return run_sync(_pg(target, sql, params))
    with closing(sqlite3.connect(target)) as conn, conn:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def execute(target: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """One change behind the bot's back (as a crash would have left the row), committed at once."""
    query(target, sql, params)


async def _pg(url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row.values()) for row in await conn.fetch(translate(sql)[0], *params)]
    finally:
        await conn.close()


async def snapshot_postgres(url: str, path: Path) -> None:
    """The PostgreSQL store copied into a SQLite file, so the bill checks judge it as they judge a file (a test that
    never opened the store, e.g. of the fal client alone, leaves nothing to judge)."""
    conn = await asyncpg.connect(url)
    try:
        # Databases come migrated: an untouched one has tables but no jobs, as a SQLite file never made has none.
        if not await conn.fetchval("SELECT to_regclass('jobs') IS NOT NULL"):
            return
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM jobs)"):
            return
    finally:
        await conn.close()
    async with open_database(url) as pg, open_database(path) as copy:
        await copy_all(pg, copy)
