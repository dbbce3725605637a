"""Guild budgets in video-seconds: reserve before a submit, charge on success, refund on failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiosqlite

from bot.db import budgets
from bot.db.connection import Database
from bot.errors import BudgetExhausted
from bot.models import BudgetState, Job
from bot.periods import period_bounds, utcnow
from bot.settings import BudgetSettings


class BudgetService:
    def __init__(self, db: Database, settings: BudgetSettings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock

    async def state(self, guild_id: int) -> BudgetState:
        """The guild's pot for the current period (created with the defaults on first use)."""
        async with self._db.transaction() as conn:
            return await self._current(conn, guild_id)

    async def reserve(self, conn: aiosqlite.Connection, guild_id: int, seconds: int) -> None:
        """Hold `seconds` inside the caller's transaction, or raise BudgetExhausted and change nothing."""
        state = await self._current(conn, guild_id)
        if not await budgets.reserve(conn, guild_id, seconds):
            raise BudgetExhausted(needed=seconds, remaining=state.remaining_seconds, resets_at=state.period_end)

    async def record_reservation(self, conn: aiosqlite.Connection, job_id: int, guild_id: int, seconds: int) -> None:
        await budgets.record(conn, guild_id=guild_id, job_id=job_id, kind="reserve", seconds=seconds, at=self._clock())

    async def charge(self, conn: aiosqlite.Connection, job: Job) -> None:
        """Fal billed the job: its reservation becomes spending."""
        await budgets.charge(conn, job.guild_id, job.duration)
        await budgets.record(
            conn, guild_id=job.guild_id, job_id=job.id, kind="charge", seconds=job.duration, at=self._clock()
        )

    async def refund(self, conn: aiosqlite.Connection, job: Job) -> None:
        """The job will not be billed: release its reservation."""
        await budgets.refund(conn, job.guild_id, job.duration)
        await budgets.record(
            conn, guild_id=job.guild_id, job_id=job.id, kind="refund", seconds=job.duration, at=self._clock()
        )

    async def _current(self, conn: aiosqlite.Connection, guild_id: int) -> BudgetState:
        now = self._clock()
        bounds = period_bounds(now, self._settings.period, self._settings.reset_hour_utc)
        await budgets.ensure(
            conn, guild_id, limit=self._settings.default_seconds, period=self._settings.period, bounds=bounds
        )
        await budgets.roll_over(conn, guild_id, now=now, bounds=bounds)
        state = await budgets.get(conn, guild_id)
        assert state is not None
        return state
