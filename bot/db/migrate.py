"""Numbered .sql migrations, tracked by PRAGMA user_version."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import aiosqlite

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


async def apply_migrations(conn: aiosqlite.Connection) -> int:
    """Bring the schema up to the newest version, one transaction per migration; return the version."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    for number, path in available():
        if number <= current:
            continue
        log.info("applying migration %s", path.name)
        try:
            await conn.executescript(f"BEGIN IMMEDIATE;\n{path.read_text()}\nPRAGMA user_version = {number};\nCOMMIT;")
        except Exception:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        current = number
    return current
