"""Job rows. State changes are conditional on the state the caller expects, so a stale writer changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

import aiosqlite

from bot.db.connection import Database
from bot.models import FailureReason, Job, JobState
from bot.periods import from_db, to_db

_COLUMNS = frozenset(f.name for f in fields(Job))
_TIMES = frozenset({"created_at", "updated_at", "submitted_at", "started_at", "finished_at", "waited_at"})
_OPEN = [s.value for s in JobState if not s.terminal]

_INSERT = """
INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, upload_limit,
                  created_at, updated_at, session_id, version, parent_job_id, origin)
VALUES (:guild_id, :channel_id, :user_id, :prompt, :duration, :price_micros, :model, 'reserved', :upload_limit,
        :now, :now, :session_id, :version, :parent_job_id, :origin)
"""
_GET = "SELECT * FROM jobs WHERE id = ?"
_LIST_OPEN = f"""
SELECT * FROM jobs
WHERE state IN ({", ".join("?" * len(_OPEN))})
   OR (state IN ('failed', 'cancelled', 'submit_unknown') AND failure_notified = 0)
ORDER BY id
"""

_RECENT_RUNS = """
SELECT model, duration, (julianday(finished_at) - julianday(started_at)) * 86400.0 FROM jobs
WHERE started_at IS NOT NULL AND finished_at IS NOT NULL AND video_url IS NOT NULL
ORDER BY id DESC LIMIT ?
"""


def job_from_row(row: Mapping[str, Any]) -> Job:
    values: dict[str, Any] = {name: row[name] for name in _COLUMNS}
    for name in _TIMES:
        if values[name] is not None:
            values[name] = from_db(values[name])
    values["state"] = JobState(values["state"])
    values["failure"] = FailureReason(values["failure"]) if values["failure"] else None
    values["failure_notified"] = bool(values["failure_notified"])
    return Job(**values)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_db(value)
    if isinstance(value, JobState | FailureReason):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


class JobRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, conn: aiosqlite.Connection, *, job: Mapping[str, Any], now: datetime) -> int:
        """Insert a RESERVED job inside the caller's transaction; return its id."""
        values = {"session_id": None, "version": None, "parent_job_id": None, "origin": "tween", **job}
        cursor = await conn.execute(_INSERT, {**values, "now": to_db(now)})
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetch_one(_GET, (job_id,))
        return job_from_row(row) if row else None

    async def get_in(self, conn: aiosqlite.Connection, job_id: int) -> Job | None:
        async with conn.execute(_GET, (job_id,)) as cursor:
            row = await cursor.fetchone()
        return job_from_row(row) if row else None

    async def list_open(self) -> list[Job]:
        """Every job the tracker still has work for, oldest first."""
        return [job_from_row(r) for r in await self._db.fetch_all(_LIST_OPEN, _OPEN)]

    async def list_in(self, states: Iterable[JobState], guild_id: int | None = None) -> list[Job]:
        """Jobs in any of `states` (optionally of one guild), oldest first."""
        values = [s.value for s in states]
        sql = f"SELECT * FROM jobs WHERE state IN ({', '.join('?' * len(values))})"
        params: list[Any] = list(values)
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        return [job_from_row(r) for r in await self._db.fetch_all(sql + " ORDER BY id", params)]

    async def by_request_id(self, request_id: str) -> Job | None:
        row = await self._db.fetch_one("SELECT * FROM jobs WHERE request_id = ?", (request_id,))
        return job_from_row(row) if row else None

    async def recent_runs(self, limit: int) -> list[tuple[str, int, float]]:
        """(model, duration, seconds run) of the latest jobs fal finished, newest first."""
        rows = await self._db.fetch_all(_RECENT_RUNS, (limit,))
        return [(r[0], int(r[1]), float(r[2])) for r in rows if r[2] is not None]

    async def waiting_ahead(self, job: Job) -> int:
        """How many jobs of the same guild wait in our queue before this one."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND state = 'waiting' AND id < ?", (job.guild_id, job.id)
        )
        return int(row[0]) if row else 0

    async def update(
        self,
        job_id: int,
        *,
        expect: Iterable[JobState] | None = None,
        now: datetime,
        conn: aiosqlite.Connection | None = None,
        **changes: Any,
    ) -> bool:
        """Set columns (and `state`) if the job is in one of `expect`; True when the row changed."""
        sql, params = _update_sql(job_id, expect, now, changes)
        if conn is not None:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount == 1
        return await self._db.execute(sql, params) == 1


def _update_sql(
    job_id: int, expect: Iterable[JobState] | None, now: datetime, changes: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    unknown = set(changes) - _COLUMNS
    if unknown:
        raise ValueError(f"not job columns: {sorted(unknown)}")
    columns = {**changes, "updated_at": now}
    assignments = ", ".join(f"{name} = ?" for name in columns)
    params = [_encode(v) for v in columns.values()] + [job_id]
    sql = f"UPDATE jobs SET {assignments} WHERE id = ?"
    if expect is not None:
        states = [s.value for s in expect]
        sql += f" AND state IN ({', '.join('?' * len(states))})"
        params += states
    return sql, params
