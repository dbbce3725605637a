"""Usage this period, per member and per channel, as rows, CSV and a chart."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from bot.db.usage import ExportRow, UsageRepo, UsageRow
from bot.errors import NotModerator
from bot.models import Requester
from bot.services.budget import BudgetService


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
    def __init__(self, rows: UsageRepo, budget: BudgetService) -> None:
        self._rows = rows
        self._budget = budget

    async def report(self, who: Requester) -> UsageReport:
        """What the guild spent this period (charged jobs only), for moderators."""
        if not who.is_moderator:
            raise NotModerator()
        pot = await self._budget.guild_pot(who.guild_id)
        since = pot.period_start
        members = await self._rows.charged_by("user_id", who.guild_id, since)
        channels = await self._rows.charged_by("channel_id", who.guild_id, since)
        export = await self._rows.jobs_since(who.guild_id, since)
        return UsageReport(pot.period_start, pot.period_end, members, channels, _csv(export))


def _csv(rows: list[ExportRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["job", "created_at", "finished_at", "user_id", "channel_id", "seconds", "usd", "model", "state", "failure"]
    )
    for r in rows:
        writer.writerow(
            [
                r.job_id,
                r.created_at,
                r.finished_at or "",
                r.user_id,
                r.channel_id,
                r.seconds,
                f"{r.micros / 1_000_000:.3f}",
                r.model,
                r.state,
                r.failure or "",
            ]
        )
    return out.getvalue().encode()
