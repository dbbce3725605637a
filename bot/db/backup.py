"""Online backups: a consistent copy of the live database (the bot may be running) with SQLite's backup API."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.errors import TweenError


class BackupError(TweenError):
    """The backup could not be made; nothing was left at the target path."""


class UnreadableDatabase(TweenError):
    """The file could not be opened or read as a SQLite database."""


def inspect_database(path: Path) -> tuple[list[str], int]:
    """integrity_check's lines (["ok"] when sound) and the schema version, read without changing the file."""
    try:
        conn = read_only(path)
        try:
            conn.execute("PRAGMA busy_timeout = 3000")
            problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise UnreadableDatabase(str(exc)) from exc
    return problems, version


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    version: int
    jobs: int

    def describe(self) -> str:
        return (
            f"backup written to {self.path}: {self.size:,} bytes, schema v{self.version}, "
            f"{self.jobs} job(s), integrity ok"
        )


def backup_database(source: str | Path, target: str | Path, *, force: bool = False) -> BackupReport:
    """Copy `source` to `target` through a temp file beside it; check the copy before it takes target's name."""
    source, target = Path(source), Path(target)
    _refuse_bad_paths(source, target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        _copy(source, temp)
        version, jobs = _verify(temp)
        _fsync(temp)
        _publish(temp, target, force=force)
    except sqlite3.Error as exc:
        raise BackupError(f"the database could not be copied: {exc}") from exc
    finally:
        for leftover in (temp, *_sidecars(temp)):
            leftover.unlink(missing_ok=True)
    _fsync(target.parent)
    return BackupReport(target, target.stat().st_size, version, jobs)


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file (nor create it when it is missing)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _refuse_bad_paths(source: Path, target: Path, *, force: bool) -> None:
    if not source.is_file():
        raise BackupError(f"no database at {source} (set TWEEN_DB_PATH to the bot's database file)")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"{target} is the live database itself; choose another path")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup a file name")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; pass --force to overwrite it")


def _copy(source: Path, temp: Path) -> None:
    with _closing(read_only(source)) as src, _closing(sqlite3.connect(temp)) as dest:
        # All pages in one step: one read transaction, so the copy is a single consistent snapshot, and
        # writers on the live WAL database carry on meanwhile (a stepped copy would restart on every write).
        src.execute("PRAGMA busy_timeout = 5000")
        src.backup(dest, pages=-1)
        # A self-contained file: no -wal beside it to lose when the backup is moved.
        dest.execute("PRAGMA journal_mode = DELETE")


def _verify(path: Path) -> tuple[int, int]:
    with _closing(read_only(path)) as conn:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {'; '.join(problems[:5])}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        has_jobs = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
        jobs = int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0]) if has_jobs else 0
    return version, jobs


def _publish(temp: Path, target: Path, *, force: bool) -> None:
    if force:
        os.replace(temp, target)
        return
    try:
        # A hard link fails if target appeared meanwhile, where a rename would silently replace it.
        os.link(temp, target)
    except FileExistsError:
        raise BackupError(f"{target} already exists; pass --force to overwrite it") from None
    except OSError:
        # Some filesystems have no hard links; the race it guards against is narrow, so fall back to a rename.
        if target.exists():
            raise BackupError(f"{target} already exists; pass --force to overwrite it") from None
        os.replace(temp, target)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-journal", "-wal", "-shm")]


@contextlib.contextmanager
def _closing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # sqlite3.Connection's own context manager commits but does not close.
    try:
        yield conn
    finally:
        conn.close()
