"""Usage this period for moderators: per member, per channel and per day, as lines, a CSV and chart data.

The period and the seconds are the guild pot's: the report covers the pot's [period_start, period_end) and adds up
the same ledger charge lines the pot is counted from, so its total is what /quota shows as spent. Names come from
the chat side as plain data (`Names`); a name that could not be found is said as such, with the id."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.db.usage import PeriodJob, UsageRepo
from bot.errors import NotModerator
from bot.models import PotState, Requester
from bot.services.budget import BudgetService
from bot.services.usage_csv import ExportLine, usage_csv


@dataclass(frozen=True)
class Place:
    """A channel or thread as the chat side knows it; a thread names the channel it belongs to."""

    name: str
    parent_id: int | None = None


@dataclass(frozen=True)
class Names:
    """Display names for the ids a report mentions: None where Discord said the member or channel is gone; an id
    that is missing was not looked up (or Discord would not say), and is shown as the id alone."""

    members: dict[int, str | None] = field(default_factory=dict)
    places: dict[int, Place | None] = field(default_factory=dict)

    def member(self, user_id: int, *, short: bool = False) -> str:
        """The display name, or what is known with the id (its last digits when `short`, as on the chart)."""
        if user_id not in self.members:
            return f"member …{str(user_id)[-4:]}" if short else f"member {user_id}"
        gone = f"ex-member …{str(user_id)[-4:]}" if short else f"former member ({user_id})"
        return self.members[user_id] or gone

    def channel(self, channel_id: int) -> str:
        if channel_id not in self.places:
            return f"channel {channel_id}"
        place = self.places[channel_id]
        return f"#{place.name}" if place else f"deleted channel ({channel_id})"


@dataclass(frozen=True)
class Line:
    """One member's or channel's share of the period."""

    subject_id: int
    label: str
    jobs: int
    seconds: int
    micros: int


@dataclass(frozen=True)
class Slot:
    """One step of the time axis (a day, or an hour of a daily period) and what was charged in it."""

    start: datetime
    seconds: int
    micros: int


@dataclass(frozen=True)
class NamedUsage:
    members: list[Line]
    chart_members: list[Line]  # the same, labelled to fit the chart
    channels: list[Line]
    slots: list[Slot]
    csv: bytes


@dataclass(frozen=True)
class UsageReport:
    guild_id: int
    pot: PotState  # the guild pot: its bounds are the period, its spent seconds the same total as `jobs`
    price_per_second: float
    jobs: list[PeriodJob]

    @property
    def period_start(self) -> datetime:
        return self.pot.period_start

    @property
    def period_end(self) -> datetime:
        return self.pot.period_end

    @property
    def charged(self) -> list[PeriodJob]:
        return [j for j in self.jobs if j.charged_seconds is not None]

    @property
    def total_seconds(self) -> int:
        return sum(j.charged_seconds or 0 for j in self.jobs)

    @property
    def total_micros(self) -> int:
        return sum(j.charged_micros for j in self.jobs)

    def member_ids(self) -> list[int]:
        """Members to name: the biggest spenders first, then everyone else in the export."""
        ranked = sorted(_group(self.charged, lambda j: j.user_id).items(), key=lambda kv: -kv[1][1])
        first = [subject for subject, _ in ranked]
        return first + sorted({j.user_id for j in self.jobs} - set(first))

    def place_ids(self) -> list[int]:
        """Channels and threads to look up (a thread's parent is found through it)."""
        return sorted({_where(j) for j in self.jobs})

    def named(self, names: Names) -> NamedUsage:
        """Lines per member and per channel (threads under their channel), per time slot, and the CSV."""
        by_member = _group(self.charged, lambda j: j.user_id)
        members = _lines(by_member, names.member)
        chart_members = _lines(by_member, lambda user_id: names.member(user_id, short=True))
        channels = _lines(_group(self.charged, lambda j: home_channel(j, names)), names.channel)
        export = [
            ExportLine(j, names.member(j.user_id), home_channel(j, names), names.channel(home_channel(j, names)))
            for j in self.jobs
        ]
        return NamedUsage(members, chart_members, channels, self.slots(), usage_csv(self.guild_id, export))

    def slots(self) -> list[Slot]:
        """The period cut into days (hours when the period is a day), each with what was charged in it."""
        daily = self.period_end - self.period_start <= timedelta(days=1)
        step = timedelta(hours=1) if daily else timedelta(days=1)
        count = max(1, round((self.period_end - self.period_start) / step))
        seconds, micros = [0] * count, [0] * count
        for job in self.charged:
            assert job.charged_at is not None
            i = min(count - 1, max(0, int((job.charged_at - self.period_start) / step)))
            seconds[i] += job.charged_seconds or 0
            micros[i] += job.charged_micros
        return [Slot(self.period_start + i * step, seconds[i], micros[i]) for i in range(count)]


def _where(job: PeriodJob) -> int:
    """Where the job was asked for: its session's channel when it ran in a session thread, else its channel."""
    return job.session_channel_id or job.channel_id


def home_channel(job: PeriodJob, names: Names) -> int:
    """The channel a job counts under: a thread counts as the channel it belongs to."""
    where = _where(job)
    place = names.places.get(where)
    return place.parent_id if place and place.parent_id else where


def _group(jobs: list[PeriodJob], key: Callable[[PeriodJob], int]) -> dict[int, tuple[int, int, int]]:
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for job in jobs:
        entry = totals[key(job)]
        entry[0] += 1
        entry[1] += job.charged_seconds or 0
        entry[2] += job.charged_micros
    return {subject: (n, s, m) for subject, (n, s, m) in totals.items()}


def _lines(groups: dict[int, tuple[int, int, int]], label: Callable[[int], str]) -> list[Line]:
    lines = [Line(subject, label(subject), n, s, m) for subject, (n, s, m) in groups.items()]
    return sorted(lines, key=lambda line: (-line.seconds, line.label))


class UsageService:
    def __init__(self, rows: UsageRepo, budget: BudgetService) -> None:
        self._rows = rows
        self._budget = budget

    async def report(self, who: Requester) -> UsageReport:
        """What the guild spent this period, for moderators: the guild pot's period, read from the ledger."""
        if not who.is_moderator:
            raise NotModerator()
        pot = await self._budget.guild_pot(who.guild_id)
        jobs = await self._rows.period_jobs(who.guild_id, pot.period_start, pot.period_end)
        tier = await self._budget.price_for(who.guild_id)
        return UsageReport(who.guild_id, pot, tier.price_per_second, jobs)
