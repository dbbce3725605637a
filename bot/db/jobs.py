"""Job rows. State changes are conditional on the state the caller expects, so a stale writer changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.db.connection import Database, Transaction
from bot.models import ANNOUNCED, IN_FLIGHT, LOCALLY_QUEUED, FailureReason, Job, JobState
from bot.periods import from_db, to_db
from bot.sharding import ShardPlan

_COLUMNS = frozenset(f.name for f in fields(Job))
_TIMES = frozenset({"created_at", "updated_at", "submitted_at", "started_at", "finished_at", "waited_at"})
_OPEN = [s.value for s in JobState if not s.terminal]


def states_sql(states: Iterable[JobState]) -> str:
    """A SQL list of state literals; states are enum values, never user text."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"


_FLYING = states_sql(IN_FLIGHT)
# A slot at fal: a job sent and not back, or a submit of unknown fate that fal may still be running.
_SLOT = f"(state IN {_FLYING} OR (state = 'submit_unknown' AND COALESCE(finished_at, updated_at) >= :unknown_since))"

# A version number is the session's next one, computed inside the same statement.
_INSERT = """
INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, upload_limit,
                  created_at, updated_at, session_id, version, parent_job_id, origin)
VALUES (:guild_id, :channel_id, :user_id, :prompt, :duration, :price_micros, :model, 'reserved', :upload_limit,
        :now, :now, :session_id,
        CASE WHEN CAST(:session_id AS BIGINT) IS NULL THEN NULL
             ELSE (SELECT COALESCE(MAX(version), 0) + 1 FROM jobs WHERE session_id = :session_id) END,
        :parent_job_id, :origin)
RETURNING *
"""
# Claims a waiting job for submission only while every cap has room, counted in the same statement.
_CLAIM = f"""
UPDATE jobs SET state = 'submitting', updated_at = :now
WHERE id = :job AND state = 'waiting'
  AND (SELECT COUNT(*) FROM jobs WHERE {_SLOT}) < :total
  AND (SELECT COUNT(*) FROM jobs WHERE {_SLOT} AND guild_id = :guild) < :per_guild
  AND (SELECT COUNT(*) FROM jobs WHERE {_SLOT} AND guild_id = :guild AND user_id = :user) < :per_member
RETURNING *
"""
_COUNTS = f"""
SELECT SUM(CASE WHEN state IN {_FLYING} AND user_id = :user THEN 1 ELSE 0 END),
       SUM(CASE WHEN state IN {_FLYING} THEN 1 ELSE 0 END),
       SUM(CASE WHEN state IN {states_sql(LOCALLY_QUEUED)} THEN 1 ELSE 0 END)
FROM jobs WHERE guild_id = :guild
"""
_GET = "SELECT * FROM jobs WHERE id = ?"
_LIST_OPEN = f"""
SELECT * FROM jobs
WHERE (state IN ({", ".join("?" * len(_OPEN))})
       OR (state IN {states_sql(ANNOUNCED)} AND failure_notified = 0))
  AND {{owned}}
ORDER BY id
"""

_RECENT_RUNS = """
SELECT model, duration, (julianday(finished_at) - julianday(started_at)) * 86400.0 FROM jobs
WHERE started_at IS NOT NULL AND finished_at IS NOT NULL AND video_url IS NOT NULL
ORDER BY id DESC LIMIT ?
"""


def owned_sql(plan: ShardPlan | None, column: str = "guild_id") -> str:
    """A condition on a guild id column: the guilds on the plan's shards (Discord's rule, guild_id >> 22 mod the
    count), true for every guild when the plan serves every shard. The numbers are ints from the config and the
    column a name from our own SQL, never user text."""
    if plan is None or plan.count is None or plan.ids is None:
        return "1 = 1"
    ids = ", ".join(str(int(shard)) for shard in plan.ids)
    return f"(({column} / 4194304) % {int(plan.count)}) IN ({ids})"


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
        # The rows of jobs at fal as last read, for the tracker's looks: most looks change nothing, so they need no
        # read. Every job write through this repo drops the job's row (a look reads it again), and only the process
        # serving a guild writes its jobs' rows.
        self._kept: dict[int, Job] = {}
        self._reading: dict[int, bool] = {}  # jobs being read for keeping: True once a write overlapped the read

    async def insert(self, tx: Transaction, *, job: Mapping[str, Any], now: datetime) -> Job:
        """Insert a RESERVED job inside the caller's transaction; a job of a session gets its next version."""
        values = {"session_id": None, "parent_job_id": None, "origin": "tween", **job}
        return await _one_job(tx, _INSERT, {**values, "now": to_db(now)})

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetch_one(_GET, (job_id,))
        return job_from_row(row) if row else None

    async def watched(self, job_id: int) -> Job | None:
        """The job's row for a look: as last read while nothing wrote it since, or read now."""
        if (kept := self._kept.get(job_id)) is not None:
            return kept
        self._reading[job_id] = False
        try:
            job = await self.get(job_id)
        finally:
            overlapped = self._reading.pop(job_id)
        if job is not None and job.state.at_fal and not overlapped:
            self._kept[job_id] = job
        return job

    def unwatch(self, job_id: int) -> None:
        """The tracker no longer looks at this job."""
        self._kept.pop(job_id, None)

    def wrote(self, job_id: int) -> None:
        """The job's row changed (or may have): the row kept for looks is stale. Called before a write and again once
        it is committed, so a read that overlapped the write is not kept either."""
        self._kept.pop(job_id, None)
        if job_id in self._reading:
            self._reading[job_id] = True

    async def claim(self, job_id: int, caps: Caps, now: datetime) -> Job | None:
        """WAITING → SUBMITTING, only while the jobs at fal stay under every cap; None if not claimed."""
        # The caps count rows across the whole table, which a row lock cannot guard: claims take turns, across
        # every process sharing the database.
        self.wrote(job_id)
        async with self._db.transaction(lock="tween:claim") as tx:
            claimed = await _one_job(tx, _CLAIM, {"now": to_db(now), "job": job_id, **caps.params()})
        self.wrote(job_id)
        return claimed

    async def in_flight(self, guild_id: int, user_id: int) -> tuple[int, int, int]:
        """The member's jobs at fal, the guild's jobs at fal, and the guild's jobs waiting in Tween's queue."""
        row = await self._db.fetch_one(_COUNTS, {"guild": guild_id, "user": user_id})
        return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)) if row else (0, 0, 0)

    async def list_open(self, owned: ShardPlan | None = None) -> list[Job]:
        """Every job the tracker still has work for (in guilds on `owned`'s shards), oldest first."""
        sql = _LIST_OPEN.format(owned=owned_sql(owned))
        return [job_from_row(r) for r in await self._db.fetch_all(sql, _OPEN)]

    async def list_in(
        self, states: Iterable[JobState], guild_id: int | None = None, *, owned: ShardPlan | None = None
    ) -> list[Job]:
        """Jobs in any of `states` (optionally of one guild, or of the guilds on `owned`'s shards), oldest first."""
        values = [s.value for s in states]
        sql = f"SELECT * FROM jobs WHERE {owned_sql(owned)} AND state IN ({', '.join('?' * len(values))})"
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
        tx: Transaction | None = None,
        **changes: Any,
    ) -> Job | None:
        """Set columns (and `state`) if the job is in one of `expect`; the changed row, or None if nothing changed.
        Inside the caller's `tx`, the caller calls `wrote` again once it has committed."""
        sql, params = _update_sql(job_id, expect, now, changes)
        self.wrote(job_id)
        try:
            if tx is not None:
                return await _one_job(tx, sql, params)
            return _first(await self._db.fetch_all(sql, params))
        finally:
            self.wrote(job_id)


@dataclass(frozen=True)
class Caps:
    """How many jobs may be at fal at once: in all, per guild, per member."""

    total: int
    per_guild: int
    per_member: int
    guild_id: int
    user_id: int
    unknown_since: datetime  # submits of unknown fate newer than this may still be running at fal

    def params(self) -> dict[str, int | str]:
        return {
            "total": self.total,
            "per_guild": self.per_guild,
            "per_member": self.per_member,
            "guild": self.guild_id,
            "user": self.user_id,
            "unknown_since": to_db(self.unknown_since),
        }


async def _one_job(tx: Transaction, sql: str, params: Mapping[str, Any] | list[Any]) -> Job | None:
    async with tx.execute(sql, params) as cursor:
        return _first(list(await cursor.fetchall()))  # drained, so the statement completes inside the transaction


def _first(rows: list[Any]) -> Job | None:
    return job_from_row(rows[0]) if rows else None


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
    return sql + " RETURNING *", params
