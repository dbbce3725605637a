"""What a guild spent in a period, per member and per channel, and its jobs as export rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.db.connection import Database
from bot.db.jobs import states_sql
from bot.models import CHARGED
from bot.periods import to_db

_CHARGED = states_sql(CHARGED)
_GROUPED = {
    column: f"SELECT {column} AS subject, COUNT(*) AS jobs, SUM(duration) AS seconds, SUM(price_micros) AS micros "
    f"FROM jobs WHERE guild_id = ? AND finished_at >= ? AND state IN {_CHARGED} "
    f"GROUP BY {column} ORDER BY seconds DESC"
    for column in ("user_id", "channel_id")
}
_EXPORT = """
SELECT id, created_at, finished_at, user_id, channel_id, duration, price_micros, model, state, failure
FROM jobs WHERE guild_id = ? AND created_at >= ? ORDER BY id
"""


@dataclass(frozen=True)
class UsageRow:
    subject_id: int
    jobs: int
    seconds: int
    micros: int


@dataclass(frozen=True)
class ExportRow:
    """One job as the usage export lists it (times as stored: ISO 8601 UTC)."""

    job_id: int
    created_at: str
    finished_at: str | None
    user_id: int
    channel_id: int
    seconds: int
    micros: int
    model: str
    state: str
    failure: str | None


class UsageRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def charged_by(self, by: Literal["user_id", "channel_id"], guild_id: int, since: datetime) -> list[UsageRow]:
        """Jobs fal billed since `since`, grouped by member or by channel, biggest first."""
        rows = await self._db.fetch_all(_GROUPED[by], (guild_id, to_db(since)))
        return [UsageRow(r["subject"], r["jobs"], r["seconds"], r["micros"]) for r in rows]

    async def jobs_since(self, guild_id: int, since: datetime) -> list[ExportRow]:
        """Every job the guild asked for since `since`, oldest first."""
        rows = await self._db.fetch_all(_EXPORT, (guild_id, to_db(since)))
        return [ExportRow(*tuple(r)) for r in rows]
