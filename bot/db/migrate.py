"""Numbered .sql migrations, tracked by PRAGMA user_version."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import aiosqlite

from bot.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available() -> list[tuple[int, Path]]:
    """Every migration file, in order, checked to be numbered 1, 2, 3 … without gaps."""
    found = sorted((int(m.group(1)), p) for p in MIGRATIONS.iterdir() if (m := _NAME.match(p.name)))
    for expected, (number, path) in enumerate(found, start=1):
        if number != expected:
            raise RuntimeError(f"migration {path.name} is out of sequence (expected {expected:04d})")
    return found


def newest() -> int:
    """The schema version this code creates and understands."""
    return len(available())


def refuse_newer(version: int, where: str | Path) -> None:
    """A database written by a newer Tween may hold data this code would misread or destroy: never use it."""
    known = newest()
    if version > known:
        raise ConfigError(
            f"the database at {where} has schema v{version}, newer than this Tween knows (v{known}); "
            "run the newer release again, or restore a backup made before the upgrade"
        )


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(conn: aiosqlite.Connection, target: int | None = None) -> int:
    """Bring the schema up to `target` (the newest by default), one transaction per migration; return the version.

    A database already newer than this code is refused with ConfigError; `target` exists so tests can build
    the schema of any earlier version.
    """
    current = await schema_version(conn)
    refuse_newer(current, "this connection")
    for number, path in available():
        if number <= current:
            continue
        if target is not None and number > target:
            break
        log.info("applying migration %s", path.name)
        try:
            await conn.executescript(f"BEGIN IMMEDIATE;\n{path.read_text()}\nPRAGMA user_version = {number};\nCOMMIT;")
        except Exception:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        current = number
    return current
