"""Online backups of a live WAL database while another connection keeps writing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.db.backup import BackupError, backup_database
from bot.db.connection import Database, open_database
from bot.db.migrate import newest
from tests.support.waiting import wait_until

NOW = "2026-11-24T12:00:00.000000+00:00"
JOB = """
INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, upload_limit,
                  created_at, updated_at)
VALUES (?, 7, 1, 'p', 5, 560000, 'm', 'running', 1, ?, ?)
"""


async def add_jobs(db: Database, batch: int, count: int = 2) -> None:
    """One transaction of `count` jobs sharing guild_id=batch, so a copy can tell a torn transaction."""
    async with db.transaction() as conn:
        for _ in range(count):
            await conn.execute(JOB, (batch, NOW, NOW))


def read(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
async def live(tmp_path):
    async with open_database(tmp_path / "live.sqlite3") as db:
        yield db


async def test_backup_while_another_connection_keeps_writing(live: Database, tmp_path):
    async with live.transaction() as conn:  # a few MB, so the copy takes long enough for writes to land meanwhile
        await conn.executemany(JOB.replace("'p'", "?"), [(0, "x" * 4000, NOW, NOW) for _ in range(1500)])
    for batch in range(1, 51):
        await add_jobs(live, batch)
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        batch = 1000
        while not stop.is_set():
            await add_jobs(live, batch)
            written += 1
            batch += 1

    writing = asyncio.create_task(writer())
    await wait_until(lambda: written, what="the writer's first commit")  # it is in its loop before the backup
    target = tmp_path / "backups" / "copy.sqlite3"
    written_at_start = written
    report = await asyncio.to_thread(backup_database, live_path(tmp_path), target)
    written_at_end = written
    stop.set()
    await writing
    assert written_at_end > written_at_start > 0, "the writer kept committing while the backup ran"

    assert read(target, "PRAGMA integrity_check") == [("ok",)]
    assert read(target, "PRAGMA journal_mode") == [("delete",)]
    assert read(target, "PRAGMA user_version") == [(newest(),)]
    jobs = read(target, "SELECT count(*) FROM jobs")[0][0]
    committed_before = 1500 + 100 + 2 * written_at_start
    assert committed_before <= jobs <= 1500 + 100 + 2 * (written_at_end + 1)
    assert read(target, "SELECT guild_id FROM jobs WHERE guild_id > 0 GROUP BY guild_id HAVING count(*) != 2") == []
    assert read(target, "SELECT count(*) FROM jobs WHERE guild_id BETWEEN 1 AND 50") == [(100,)]
    assert (report.path, report.version, report.jobs, report.size) == (target, newest(), jobs, target.stat().st_size)
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.sqlite3"]  # no temp or -wal left beside it
    assert (await live.fetch_one("SELECT count(*) FROM jobs"))[0] > jobs  # the live database carried on


async def test_an_open_transaction_is_not_in_the_copy(live: Database, tmp_path):
    await add_jobs(live, 1)
    target = tmp_path / "copy.sqlite3"
    async with live.transaction() as conn:
        await conn.execute(JOB, (2, NOW, NOW))
        report = await asyncio.to_thread(backup_database, live_path(tmp_path), target)
    assert report.jobs == 2
    assert read(target, "SELECT DISTINCT guild_id FROM jobs") == [(1,)]


async def test_an_existing_file_is_kept_unless_forced(live: Database, tmp_path):
    await add_jobs(live, 1)
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"precious")
    with pytest.raises(BackupError, match="already exists; pass --force"):
        backup_database(live_path(tmp_path), target)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    report = backup_database(live_path(tmp_path), target, force=True)
    assert report.jobs == 2 and read(target, "PRAGMA integrity_check") == [("ok",)]


async def test_refuses_to_overwrite_the_live_database_or_copy_nothing(live: Database, tmp_path):
    with pytest.raises(BackupError, match="live database itself"):
        backup_database(live_path(tmp_path), live_path(tmp_path), force=True)
    with pytest.raises(BackupError, match="no database at"):
        backup_database(tmp_path / "missing.sqlite3", tmp_path / "copy.sqlite3")
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_a_damaged_source_leaves_nothing_behind(tmp_path):
    source = tmp_path / "junk.sqlite3"
    source.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError):
        backup_database(source, tmp_path / "copy.sqlite3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.sqlite3"]


def live_path(tmp_path: Path) -> Path:
    return tmp_path / "live.sqlite3"
