"""Session threads, their versions and the votes on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.db.connection import Database, Row, Transaction
from bot.db.jobs import job_from_row
from bot.models import Job, Session
from bot.periods import to_db

_CREATE = """
INSERT INTO sessions (guild_id, thread_id, channel_id, created_by, created_at, start_url, end_url, prompt, duration,
                      last_job_id)
VALUES (:guild_id, :thread_id, :channel_id, :created_by, :created_at, :start_url, :end_url, :prompt, :duration,
        :last_job_id)
ON CONFLICT (thread_id) DO NOTHING
"""
_CURRENT = """
UPDATE sessions SET start_url = ?, end_url = ?, prompt = ?, duration = ?, last_job_id = ? WHERE id = ?
"""


def _session(row: Row) -> Session:
    return Session(
        id=row["id"],
        guild_id=row["guild_id"],
        thread_id=row["thread_id"],
        channel_id=row["channel_id"],
        created_by=row["created_by"],
        start_url=row["start_url"],
        end_url=row["end_url"],
        prompt=row["prompt"],
        duration=row["duration"],
        last_job_id=row["last_job_id"],
    )


class SessionRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_for(self, job: Job, thread_id: int, now: datetime) -> Session:
        """The session a first job's thread becomes (once; a second call returns the existing one)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                _CREATE,
                {
                    "guild_id": job.guild_id,
                    "thread_id": thread_id,
                    "channel_id": job.channel_id,
                    "created_by": job.user_id,
                    "created_at": to_db(now),
                    "start_url": job.start_url,
                    "end_url": job.end_url,
                    "prompt": job.prompt,
                    "duration": job.duration,
                    "last_job_id": job.id,
                },
            )
            async with conn.execute("SELECT * FROM sessions WHERE thread_id = ?", (thread_id,)) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            await conn.execute(
                "UPDATE jobs SET session_id = ?, version = 1 WHERE id = ? AND session_id IS NULL", (row["id"], job.id)
            )
        return _session(row)

    async def by_thread(self, thread_id: int) -> Session | None:
        row = await self._db.fetch_one("SELECT * FROM sessions WHERE thread_id = ?", (thread_id,))
        return _session(row) if row else None

    async def get(self, session_id: int) -> Session | None:
        row = await self._db.fetch_one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def set_current(self, job: Job) -> None:
        """The session's inputs become this version's, so the next /tween starts from them."""
        await self._db.execute(_CURRENT, (job.start_url, job.end_url, job.prompt, job.duration, job.id, job.session_id))

    async def next_version(self, conn: Transaction, session_id: int) -> int:
        async with conn.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM jobs WHERE session_id = ?", (session_id,)
        ) as c:
            row = await c.fetchone()
        return int(row[0]) if row else 1

    async def versions(self, session_id: int) -> list[Job]:
        rows = await self._db.fetch_all("SELECT * FROM jobs WHERE session_id = ? ORDER BY version, id", (session_id,))
        return [job_from_row(r) for r in rows]

    async def toggle_vote(self, job_id: int, user_id: int, now: datetime) -> tuple[bool, int]:
        """Add the member's vote, or take it back; return whether they now vote for it, and the count."""
        # A double click must toggle twice, not race its own delete and insert.
        async with self._db.transaction(lock=f"tween:vote:{job_id}:{user_id}") as conn:
            cursor = await conn.execute("DELETE FROM votes WHERE job_id = ? AND user_id = ?", (job_id, user_id))
            voted = cursor.rowcount == 0
            if voted:
                await conn.execute(
                    "INSERT INTO votes (job_id, user_id, at) VALUES (?, ?, ?)", (job_id, user_id, to_db(now))
                )
            async with conn.execute("SELECT COUNT(*) FROM votes WHERE job_id = ?", (job_id,)) as c:
                row = await c.fetchone()
        return voted, int(row[0]) if row else 0

    async def vote_counts(self, session_id: int) -> dict[int, int]:
        rows = await self._db.fetch_all(
            "SELECT v.job_id, COUNT(*) AS n FROM votes v JOIN jobs j ON j.id = v.job_id WHERE j.session_id = ? "
            "GROUP BY v.job_id",
            (session_id,),
        )
        return {r["job_id"]: r["n"] for r in rows}

    async def vote_count(self, job_id: int) -> int:
        row: Any = await self._db.fetch_one("SELECT COUNT(*) FROM votes WHERE job_id = ?", (job_id,))
        return int(row[0]) if row else 0
