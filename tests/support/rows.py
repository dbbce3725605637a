"""Put a job row where a crash would have left it: a test's way past the lifecycle, never the bot's."""

from __future__ import annotations

from typing import Any

from bot.db.connection import Database
from bot.db.jobs import JobRepo
from bot.models import Job
from bot.periods import utcnow


async def force_row(db: Database, job_id: int, **changes: Any) -> Job:
    job = await JobRepo(db).update(job_id, now=utcnow(), **changes)
    assert job is not None, f"job {job_id} does not exist"
    return job
