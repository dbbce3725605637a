"""What a guild's jobs cost in a period, read from the ledger: the same charge lines its budget pot is counted from
(bot/db/pots.py), so /usage and /quota add up the same seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.connection import Database
from bot.periods import from_db, to_db

# A job appears if it was charged to the guild pot in the period (by its charge line's time, as the pot counts it)
# or asked for in it (failed and cancelled jobs too: the export lists what members asked for). Charge lines are
# written once per pot; only the guild pot's line counts, or the pot-less line of a job from before pots existed.
# A job started in a session thread is filed under the channel the session began in.
_PERIOD_JOBS = """
WITH charged AS (
    SELECT l.job_id, MIN(l.created_at) AS charged_at, SUM(l.seconds) AS seconds
    FROM ledger l LEFT JOIN pots p ON p.id = l.pot_id
    WHERE l.guild_id = :guild AND l.created_at >= :start AND l.created_at < :end AND l.kind = 'charge'
      AND (l.pot_id IS NULL OR p.scope = 'guild')
    GROUP BY l.job_id
)
SELECT j.id, j.created_at, c.charged_at, j.user_id, j.channel_id, s.channel_id AS session_channel_id,
       j.thread_id, j.card_message_id, j.duration, c.seconds AS charged_seconds, j.price_micros, j.model, j.state,
       j.failure, j.prompt
FROM jobs j
LEFT JOIN charged c ON c.job_id = j.id
LEFT JOIN sessions s ON s.thread_id = j.channel_id
WHERE j.id IN (SELECT job_id FROM charged)
   OR (j.guild_id = :guild AND j.created_at >= :start AND j.created_at < :end)
ORDER BY j.id
"""


@dataclass(frozen=True)
class PeriodJob:
    """One job as the usage report sees it. `charged_seconds` is None when nothing was charged in the period."""

    job_id: int
    created_at: datetime
    charged_at: datetime | None
    user_id: int
    channel_id: int  # where /tween ran: a channel, or a thread
    session_channel_id: int | None  # the channel its session thread belongs to, when it ran in one
    thread_id: int | None
    card_message_id: int | None
    duration: int
    charged_seconds: int | None
    price_micros: int
    model: str
    state: str
    failure: str | None
    prompt: str

    @property
    def charged_micros(self) -> int:
        return self.price_micros if self.charged_seconds is not None else 0


class UsageRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def period_jobs(self, guild_id: int, start: datetime, end: datetime) -> list[PeriodJob]:
        """Every job charged or asked for in [start, end), oldest first."""
        rows = await self._db.fetch_all(_PERIOD_JOBS, {"guild": guild_id, "start": to_db(start), "end": to_db(end)})
        return [
            PeriodJob(
                job_id=r["id"],
                created_at=from_db(r["created_at"]),
                charged_at=from_db(r["charged_at"]) if r["charged_at"] else None,
                user_id=r["user_id"],
                channel_id=r["channel_id"],
                session_channel_id=r["session_channel_id"],
                thread_id=r["thread_id"],
                card_message_id=r["card_message_id"],
                duration=r["duration"],
                charged_seconds=r["charged_seconds"],
                price_micros=r["price_micros"],
                model=r["model"],
                state=r["state"],
                failure=r["failure"],
                prompt=r["prompt"],
            )
            for r in rows
        ]
