"""Budget pots on a real SQLite file: atomic multi-pot reservations, roles, channels, periods, extras, upgrades."""

import asyncio
from datetime import UTC, datetime, timedelta

import aiosqlite
import pytest

from bot.db.connection import open_database
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.db.migrate import MIGRATIONS, available
from bot.errors import BudgetExhausted
from bot.models import PotScope, Requester
from bot.periods import utcnow
from bot.services.budget import BudgetService
from bot.services.lifecycle import Draft, Lifecycle
from tests.support.settings import make_settings

GUILD, CHANNEL = 42, 7


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def who(user_id: int = 1, roles: frozenset[int] = frozenset(), channel: int = CHANNEL) -> Requester:
    return Requester(guild_id=GUILD, user_id=user_id, channel_id=channel, role_ids=roles)


@pytest.fixture
async def db(tmp_path):
    async with open_database(tmp_path / "tween.sqlite3") as database:
        yield database


def service(db, clock=None, **budget) -> tuple[BudgetService, GuildRepo]:
    settings = make_settings(budget=budget)
    guilds = GuildRepo(db, settings)
    return BudgetService(db, guilds, JobRepo(db), settings, **({"clock": clock} if clock else {})), guilds


async def reserve(db, budget: BudgetService, guilds: GuildRepo, requester: Requester, seconds: int) -> None:
    """A job's reservation, as /tween makes it: the row and every pot's hold in one transaction."""
    lifecycle = Lifecycle(db, JobRepo(db), budget, utcnow)
    draft = Draft(requester, "p", seconds, price_micros=0, model="m", upload_limit=1)
    await lifecycle.open(draft, await guilds.policy(GUILD))


async def test_concurrent_reservations_never_overdraw(db):
    budget, guilds = service(db, default_seconds=60, member_seconds=60)

    async def one(user_id: int) -> bool:
        try:
            await reserve(db, budget, guilds, who(user_id), 5)
            return True
        except BudgetExhausted:
            return False

    results = await asyncio.gather(*(one(n) for n in range(50)))
    pot = await budget.guild_pot(GUILD)
    assert results.count(True) == 12
    assert (pot.reserved_seconds, pot.remaining_seconds) == (60, 0)


async def test_member_allowance_refuses_and_leaves_the_guild_pot_untouched(db):
    budget, guilds = service(db, default_seconds=100, member_seconds=8)
    await reserve(db, budget, guilds, who(), 5)
    with pytest.raises(BudgetExhausted) as caught:
        await reserve(db, budget, guilds, who(), 5)
    assert (caught.value.scope, caught.value.remaining) == ("member", 3)
    assert (await budget.guild_pot(GUILD)).reserved_seconds == 5


async def test_role_override_gives_the_best_of_the_member_roles(db):
    budget, guilds = service(db, default_seconds=100, member_seconds=5)
    async with db.transaction() as conn:
        await guilds.put(conn, "role_allowances", GUILD, 555, 40)
        await guilds.put(conn, "role_allowances", GUILD, 666, 0)
    await reserve(db, budget, guilds, who(roles=frozenset({555, 666})), 30)
    with pytest.raises(BudgetExhausted):
        await reserve(db, budget, guilds, who(user_id=2, roles=frozenset({666})), 3)


async def test_channel_pot_applies_in_its_channel_and_its_threads(db):
    budget, guilds = service(db, default_seconds=100, member_seconds=100)
    async with db.transaction() as conn:
        await guilds.put(conn, "channel_budgets", GUILD, CHANNEL, 6)
    await reserve(db, budget, guilds, who(), 5)
    in_thread = Requester(guild_id=GUILD, user_id=2, channel_id=999, parent_channel_id=CHANNEL)
    with pytest.raises(BudgetExhausted) as caught:
        await reserve(db, budget, guilds, in_thread, 5)
    assert caught.value.scope == "channel"
    await reserve(db, budget, guilds, who(user_id=3, channel=8), 5)  # another channel: no pot there


async def test_period_rolls_over_keeping_reservations_and_dropping_extras(db):
    clock = Clock()
    budget, guilds = service(db, clock, default_seconds=10, member_seconds=10)
    await budget.add(GUILD, PotScope.GUILD, GUILD, 20, actor_id=9)
    await reserve(db, budget, guilds, who(), 10)
    assert (await budget.guild_pot(GUILD)).remaining_seconds == 20
    clock.now += timedelta(days=1)
    pot = await budget.guild_pot(GUILD)
    assert (pot.reserved_seconds, pot.spent_seconds, pot.extra_seconds, pot.remaining_seconds) == (10, 0, 0, 0)
    assert pot.period_start == datetime(2026, 11, 25, tzinfo=UTC)


async def test_grant_lets_a_member_past_their_allowance_this_period(db):
    budget, guilds = service(db, default_seconds=100, member_seconds=5)
    await budget.add(GUILD, PotScope.MEMBER, 1, 10, actor_id=9)
    await reserve(db, budget, guilds, who(), 15)
    rows = await db.fetch_all("SELECT kind, seconds, actor_id FROM ledger WHERE kind = 'grant'")
    assert [tuple(r) for r in rows] == [("grant", 10, 9)]
    audit = await guilds.audit_log(GUILD)
    assert audit[0]["action"] == "grant"


async def test_rollback_leaves_every_pot_untouched(db, monkeypatch):
    budget, guilds = service(db)

    async def crash(*args, **kwargs):
        raise RuntimeError("crash between statements")

    monkeypatch.setattr(JobRepo, "insert", crash)  # after every pot has been reserved, before the job row exists
    with pytest.raises(RuntimeError):
        await reserve(db, budget, guilds, who(), 5)
    assert (await budget.guild_pot(GUILD)).reserved_seconds == 0
    assert await db.fetch_all("SELECT * FROM ledger") == []


async def test_version_1_database_upgrades_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as conn:
        schema = (MIGRATIONS / "0001_initial.sql").read_text()
        await conn.executescript(schema + "\nPRAGMA user_version = 1;")
        day = ("2026-11-24T00:00:00+00:00", "2026-11-25T00:00:00+00:00")
        await conn.execute("INSERT INTO budgets VALUES (42, 60, 5, 10, 'day', ?, ?)", day)
        await conn.execute(
            "INSERT INTO jobs (id, guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, "
            "upload_limit, created_at, updated_at) VALUES (1, 42, 7, 1, 'p', 5, 560000, 'm', 'running', 1, 'x', 'x')"
        )
        await conn.execute(
            "INSERT INTO ledger (guild_id, job_id, kind, seconds, created_at) VALUES (42, 1, 'reserve', 5, 'x')"
        )
        await conn.commit()
    async with open_database(path) as db:
        assert (await db.fetch_one("PRAGMA user_version"))[0] == len(available())
        pot = await db.fetch_one("SELECT scope, reserved_seconds, spent_seconds FROM pots WHERE guild_id = 42")
        assert tuple(pot) == ("guild", 5, 10)
        link = await db.fetch_one("SELECT job_id, seconds FROM job_pots")
        assert tuple(link) == (1, 5)
        ledger = await db.fetch_one("SELECT kind, pot_id IS NOT NULL FROM ledger")
        assert tuple(ledger) == ("reserve", 1)


async def test_changing_the_reset_hour_keeps_this_periods_extras_and_holds(db):
    clock = Clock()  # 12:00 UTC: today's period began at 00:00
    budget, guilds = service(db, clock, default_seconds=100, member_seconds=100)
    await budget.add(GUILD, PotScope.GUILD, GUILD, 20, actor_id=9)
    await reserve(db, budget, guilds, who(), 5)
    async with db.transaction() as tx:
        await guilds.set(tx, GUILD, reset_hour=6)
    pot = await budget.guild_pot(GUILD)
    assert pot.period_start == datetime(2026, 11, 24, 6, tzinfo=UTC)
    assert (pot.extra_seconds, pot.reserved_seconds) == (20, 5)  # a new hour, not a new budget
    clock.now += timedelta(days=1)
    pot = await budget.guild_pot(GUILD)
    assert (pot.spent_seconds, pot.extra_seconds, pot.reserved_seconds) == (0, 0, 5)
    # What happens to spending when the bounds move: tests/integration/test_usage_period.py


def refusal(caught: pytest.ExceptionInfo[BudgetExhausted]) -> tuple:
    e = caught.value
    return (e.needed, e.remaining, e.resets_at, e.scope, e.price_per_second)


@pytest.mark.parametrize(
    ("pot", "budget_kwargs"), [("guild", {"default_seconds": 8}), ("member", {"member_seconds": 8})]
)
async def test_affordability_check_refuses_as_the_reservation_would_and_holds_nothing(db, pot, budget_kwargs):
    budget, guilds = service(db, **{"default_seconds": 100, "member_seconds": 100, **budget_kwargs})
    policy = await guilds.policy(GUILD)
    await budget.ensure_affordable(policy, who(), 8)  # the whole pot fits
    assert (await budget.guild_pot(GUILD)).reserved_seconds == 0
    await reserve(db, budget, guilds, who(), 5)
    await budget.ensure_affordable(policy, who(), 3)  # exactly what is left
    with pytest.raises(BudgetExhausted) as advised:
        await budget.ensure_affordable(policy, who(), 4)
    with pytest.raises(BudgetExhausted) as reserved:
        await reserve(db, budget, guilds, who(), 4)
    assert refusal(advised) == refusal(reserved)
    assert refusal(advised)[:2] == (4, 3) and refusal(advised)[3] == pot
    assert (await budget.guild_pot(GUILD)).reserved_seconds == 5


async def test_affordability_check_counts_the_channel_pot(db):
    budget, guilds = service(db, default_seconds=100, member_seconds=100)
    async with db.transaction() as conn:
        await guilds.put(conn, "channel_budgets", GUILD, CHANNEL, 4)
    policy = await guilds.policy(GUILD)
    with pytest.raises(BudgetExhausted) as caught:
        await budget.ensure_affordable(policy, who(), 5)
    assert caught.value.scope == "channel"
    await budget.ensure_affordable(policy, who(channel=8), 5)
