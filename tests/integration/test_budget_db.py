"""Budgets on a real SQLite file: atomic reservations, charge and refund, period roll-over."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.db.connection import open_database
from bot.errors import BudgetExhausted
from bot.services.budget import BudgetService
from tests.support.settings import make_settings

GUILD = 42


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def db(tmp_path):
    async with open_database(tmp_path / "tween.sqlite3") as database:
        yield database


async def test_concurrent_reservations_never_overdraw(db):
    budget = BudgetService(db, make_settings(budget={"default_seconds": 60}).budget)

    async def one() -> bool:
        try:
            async with db.transaction() as conn:
                await budget.reserve(conn, GUILD, 5)
            return True
        except BudgetExhausted:
            return False

    results = await asyncio.gather(*(one() for _ in range(50)))
    state = await budget.state(GUILD)
    assert results.count(True) == 12
    assert (state.reserved_seconds, state.remaining_seconds) == (60, 0)


async def test_exhausted_says_remaining_and_reset(db):
    clock = Clock()
    budget = BudgetService(db, make_settings(budget={"default_seconds": 8}).budget, clock=clock)
    async with db.transaction() as conn:
        await budget.reserve(conn, GUILD, 5)
    with pytest.raises(BudgetExhausted) as caught:
        async with db.transaction() as conn:
            await budget.reserve(conn, GUILD, 5)
    assert (caught.value.needed, caught.value.remaining) == (5, 3)
    assert caught.value.resets_at == datetime(2026, 11, 25, tzinfo=UTC)


async def test_period_rolls_over_and_keeps_in_flight_reservations(db):
    clock = Clock()
    budget = BudgetService(db, make_settings(budget={"default_seconds": 10}).budget, clock=clock)
    async with db.transaction() as conn:
        await budget.reserve(conn, GUILD, 5)
        await budget.reserve(conn, GUILD, 5)
    clock.now += timedelta(days=1)
    state = await budget.state(GUILD)
    assert (state.reserved_seconds, state.spent_seconds, state.remaining_seconds) == (10, 0, 0)
    assert state.period_start == datetime(2026, 11, 25, tzinfo=UTC)


async def test_rollback_leaves_budget_untouched(db):
    budget = BudgetService(db, make_settings().budget)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await budget.reserve(conn, GUILD, 5)
            raise RuntimeError("crash between statements")
    assert (await budget.state(GUILD)).reserved_seconds == 0


async def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "again.sqlite3"
    async with open_database(path) as first:
        row = await first.fetch_one("PRAGMA user_version")
    async with open_database(path) as second:
        again = await second.fetch_one("PRAGMA user_version")
    assert row[0] == again[0] == 1
