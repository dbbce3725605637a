"""Usage this period, per member and per channel, as rows, CSV and a chart."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from bot.db.connection import Database
from bot.errors import NotModerator
from bot.models import Requester
from bot.periods import to_db
from bot.services.budget import BudgetService

CHARGED = ("completed", "delivering", "delivered", "undeliverable")


@dataclass(frozen=True)
class UsageRow:
    subject_id: int
    jobs: int
    seconds: int
    micros: int


@dataclass(frozen=True)
class UsageReport:
    period_start: datetime
    period_end: datetime
    members: list[UsageRow]
    channels: list[UsageRow]
    csv: bytes

    @property
    def total_seconds(self) -> int:
        return sum(r.seconds for r in self.members)

    @property
    def total_micros(self) -> int:
        return sum(r.micros for r in self.members)


class UsageService:
    def __init__(self, db: Database, budget: BudgetService) -> None:
        self._db = db
        self._budget = budget

    async def report(self, who: Requester) -> UsageReport:
        """What the guild spent this period (charged jobs only), for moderators."""
        if not who.is_moderator:
            raise NotModerator()
        pot = await self._budget.guild_pot(who.guild_id)
        since = to_db(pot.period_start)
        members = await self._grouped("user_id", who.guild_id, since)
        channels = await self._grouped("channel_id", who.guild_id, since)
        return UsageReport(pot.period_start, pot.period_end, members, channels, await self._csv(who.guild_id, since))

    async def _grouped(self, column: str, guild_id: int, since: str) -> list[UsageRow]:
        assert column in ("user_id", "channel_id")
        rows = await self._db.fetch_all(
            f"SELECT {column} AS subject, COUNT(*) AS jobs, SUM(duration) AS seconds, SUM(price_micros) AS micros "
            f"FROM jobs WHERE guild_id = ? AND finished_at >= ? AND state IN {CHARGED} "
            f"GROUP BY {column} ORDER BY seconds DESC",
            (guild_id, since),
        )
        return [UsageRow(r["subject"], r["jobs"], r["seconds"], r["micros"]) for r in rows]

    async def _csv(self, guild_id: int, since: str) -> bytes:
        rows = await self._db.fetch_all(
            "SELECT id, created_at, finished_at, user_id, channel_id, duration, price_micros, model, state, failure "
            "FROM jobs WHERE guild_id = ? AND created_at >= ? ORDER BY id",
            (guild_id, since),
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["job", "created_at", "finished_at", "user_id", "channel_id", "seconds", "usd", "model", "state", "failure"]
        )
        for r in rows:
            writer.writerow(
                [
                    r["id"],
                    r["created_at"],
                    r["finished_at"] or "",
                    r["user_id"],
                    r["channel_id"],
                    r["duration"],
                    f"{r['price_micros'] / 1_000_000:.3f}",
                    r["model"],
                    r["state"],
                    r["failure"] or "",
                ]
            )
        return out.getvalue().encode()
