"""`python -m bot migrate-db --to postgresql://…`: move a SQLite database into PostgreSQL, and prove it whole."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.db.backup import UnreadableDatabase, inspect_database
from bot.db.connection import is_postgres_url, open_database
from bot.db.copy import CopyMismatch, copy_all
from bot.db.migrate import newest


def main(source: str, target: str) -> int:
    """Copy, verify, print one line; exit 0 only when the target holds exactly what the source holds."""
    problem = _refusal(source, target)
    if problem is not None:
        print(f"tween: {problem}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_move(source, target))
    except CopyMismatch as exc:
        print(f"tween: the copy is not whole, nothing was kept: {exc}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"tween: cannot reach the target database: {exc}", file=sys.stderr)
        return 1
    print(report.describe())
    print("now set TWEEN_DATABASE_URL to the target in every process and start them; keep the SQLite file to roll back")
    return 0


def _refusal(source: str, target: str) -> str | None:
    if not is_postgres_url(target):
        return "--to must be a postgresql:// URL"
    path = Path(source)
    if not path.is_file():
        return f"no SQLite database at {path} (set TWEEN_DB_PATH to the file to move)"
    try:
        problems, version = inspect_database(path)
    except UnreadableDatabase as exc:
        return f"{path} is not a readable SQLite database: {exc}"
    if problems != ["ok"]:
        return f"{path} fails its integrity check ({problems[0]}); restore a backup first"
    if version < newest():
        return f"{path} has schema v{version}; start this Tween on it once (it upgrades to v{newest()}), then move it"
    return None


async def _move(source: str, target: str) -> object:
    async with open_database(source) as lite, open_database(target) as pg:
        return await copy_all(lite, pg)
