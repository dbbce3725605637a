"""/usage and /quota read one period: the guild pot's bounds, with its spending counted from the same ledger lines
the usage report adds up, whatever happened to the period (a new kind, a new reset hour, a late charge)."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import pots
from bot.db.connection import Database, open_database
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.db.usage import UsageRepo
from bot.models import PotScope, Requester
from bot.periods import to_db
from bot.services.budget import BudgetService
from bot.services.lifecycle import Draft, Lifecycle
from bot.services.usage import UsageService
from tests.support.settings import make_settings

GUILD, CHANNEL, PRICE = 42, 7, 112_000
MOD = Requester(guild_id=GUILD, user_id=99, channel_id=CHANNEL, is_moderator=True)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, tzinfo=UTC)  # a Monday

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, db: Database) -> None:
        self.db, self.clock = db, Clock()
        settings = make_settings(budget={"default_seconds": 1000, "member_seconds": 1000})
        self.guilds = GuildRepo(db, settings)
        self.budget = BudgetService(db, self.guilds, JobRepo(db), settings, clock=self.clock)
        self.lifecycle = Lifecycle(db, JobRepo(db), self.budget, self.clock)
        self.usage = UsageService(UsageRepo(db), self.budget)

    async def reserve(self, seconds: int, user_id: int = 1) -> int:
        who = Requester(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL)
        draft = Draft(who, "p", seconds, price_micros=seconds * PRICE, model="m", upload_limit=1)
        job = await self.lifecycle.open(draft, await self.guilds.policy(GUILD))
        return job.id

    async def charge(self, job_id: int) -> None:
        """What fal's success does to the money (Lifecycle._settle), without walking the job through fal."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE jobs SET state = 'delivered', finished_at = ? WHERE id = ?", (to_db(self.clock()), job_id)
            )
            for pot_id, seconds in await pots.job_pots(tx, job_id):
                assert await pots.charge(tx, pot_id, seconds)
                await pots.record(
                    tx, guild_id=GUILD, job_id=job_id, pot_id=pot_id, kind="charge", seconds=seconds, at=self.clock()
                )

    async def video(self, seconds: int, user_id: int = 1) -> None:
        await self.charge(await self.reserve(seconds, user_id))

    async def set(self, **values: object) -> None:
        async with self.db.transaction() as tx:
            await self.guilds.set(tx, GUILD, **values)

    async def agreed(self) -> tuple[datetime, int]:
        """The period start and seconds spent, after checking /quota's pots and /usage's report say the same."""
        member = Requester(guild_id=GUILD, user_id=1, channel_id=CHANNEL)
        quota = await self.budget.overview(member)
        report = await self.usage.report(MOD)
        assert report.period_start == quota.guild.period_start and report.period_end == quota.guild.period_end
        assert report.total_seconds == quota.guild.spent_seconds
        mine = sum(j.charged_seconds or 0 for j in report.charged if j.user_id == 1)
        assert quota.member.spent_seconds == mine and quota.member.period_start == quota.guild.period_start
        assert report.total_micros == PRICE * report.total_seconds
        return report.period_start, report.total_seconds


@pytest.fixture
async def world(tmp_path):
    async with open_database(tmp_path / "tween.sqlite3") as db:
        yield World(db)


async def test_a_daily_budget_made_weekly_counts_the_whole_weeks_videos(world: World):
    await world.video(5)  # Monday
    world.clock.now += timedelta(days=1)
    await world.video(7, user_id=2)  # Tuesday
    world.clock.now += timedelta(days=1)
    await world.video(3)  # Wednesday
    assert await world.agreed() == (datetime(2026, 11, 25, tzinfo=UTC), 3)
    await world.set(period="week")
    assert await world.agreed() == (datetime(2026, 11, 23, tzinfo=UTC), 15)
    assert (await world.budget.guild_pot(GUILD)).remaining_seconds == 1000 - 15


async def test_a_weekly_budget_made_daily_leaves_out_the_earlier_days(world: World):
    await world.set(period="week")
    await world.video(5)
    world.clock.now += timedelta(days=2)
    await world.video(3)
    assert await world.agreed() == (datetime(2026, 11, 23, tzinfo=UTC), 8)
    await world.set(period="day")
    assert await world.agreed() == (datetime(2026, 11, 25, tzinfo=UTC), 3)


async def test_a_later_reset_hour_leaves_out_what_was_charged_before_it(world: World):
    world.clock.now = datetime(2026, 11, 23, 3, tzinfo=UTC)
    await world.video(5)
    world.clock.now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    await world.video(4)
    await world.budget.add(GUILD, PotScope.GUILD, GUILD, 20, actor_id=9)
    await world.reserve(6)  # in flight across the change
    await world.set(reset_hour=6)
    assert await world.agreed() == (datetime(2026, 11, 23, 6, tzinfo=UTC), 4)
    pot = await world.budget.guild_pot(GUILD)
    assert (pot.extra_seconds, pot.reserved_seconds) == (20, 6)  # top-ups and holds stay with the period
    await world.set(reset_hour=0)
    assert await world.agreed() == (datetime(2026, 11, 23, tzinfo=UTC), 9)


async def test_a_charge_after_midnight_before_anyone_looked_counts_in_the_new_day(world: World):
    world.clock.now = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)
    job = await world.reserve(5)
    world.clock.now += timedelta(minutes=2)
    await world.charge(job)  # lands on Monday's pot row, which nobody has rolled over yet
    assert await world.agreed() == (datetime(2026, 11, 24, tzinfo=UTC), 5)
    assert (await world.budget.guild_pot(GUILD)).remaining_seconds == 995
