"""PostgreSQL as the shared store: exact money and global caps with several processes' pools at once, and the move
from a SQLite file. A "process" here is its own connection pool, as a second `python -m bot` would have; the 500-way
race also runs between two real OS processes (tests/support/reserve_many.py)."""

from __future__ import annotations

import asyncio
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db.connection import Database, open_database
from bot.db.jobs import Caps, JobRepo
from bot.models import JobState, Requester
from bot.ops import move
from bot.periods import utcnow
from bot.services.lifecycle import Draft
from tests.support.reserve_many import GUILD, lifecycle_on, reserve
from tests.support.rows import force_row

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def two_processes(tween_postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(open_database(tween_postgres_url))
        second = await stack.enter_async_context(open_database(tween_postgres_url))
        yield first, second


async def test_500_reservations_from_two_pools_against_a_budget_for_100_hold_exactly_100(two_processes):
    sides = [lifecycle_on(db) for db in two_processes]
    results = await asyncio.gather(*(reserve(*sides[n % 2], user=n) for n in range(500)))
    assert sum(results) == 100
    db = two_processes[0]
    pot = await db.fetch_one("SELECT reserved_seconds, spent_seconds FROM pots WHERE scope = 'guild'")
    assert (pot["reserved_seconds"], pot["spent_seconds"]) == (500, 0)
    lines = await db.fetch_one(
        "SELECT COUNT(*), SUM(seconds) FROM ledger l JOIN pots p ON p.id = l.pot_id "
        "WHERE p.scope = 'guild' AND l.kind = 'reserve'"
    )
    assert (lines[0], lines[1]) == (100, 500)
    assert (await db.fetch_one("SELECT COUNT(*) FROM jobs"))[0] == 100


async def test_500_reservations_from_two_os_processes_against_a_budget_for_100_hold_exactly_100(tween_postgres_url):
    """The same race between two real processes, each with its own pool and event loop, started together."""
    racers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.reserve_many",
            tween_postgres_url,
            str(first),
            "250",
            cwd=ROOT,
            stdin=PIPE,
            stdout=PIPE,
        )
        for first in (0, 250)
    ]
    for racer in racers:
        assert racer.stdout is not None
        assert (await asyncio.wait_for(racer.stdout.readline(), 60)).strip() == b"READY"
    outputs = await asyncio.gather(*(asyncio.wait_for(r.communicate(b"go\n"), 120) for r in racers))
    assert [r.returncode for r in racers] == [0, 0]
    assert sum(int(out.split()[-1]) for out, _ in outputs) == 100
    async with open_database(tween_postgres_url) as db:
        pot = await db.fetch_one("SELECT reserved_seconds, spent_seconds FROM pots WHERE scope = 'guild'")
        assert pot is not None and (pot["reserved_seconds"], pot["spent_seconds"]) == (500, 0)
        lines = await db.fetch_one(
            "SELECT COUNT(*), SUM(seconds) FROM ledger l JOIN pots p ON p.id = l.pot_id "
            "WHERE p.scope = 'guild' AND l.kind = 'reserve'"
        )
        assert lines is not None and (lines[0], lines[1]) == (100, 500)
        assert (await db.fetch_one("SELECT COUNT(*) FROM jobs"))[0] == 100


async def test_claims_from_two_processes_never_pass_the_total_cap(two_processes):
    lifecycle, guilds = lifecycle_on(two_processes[0])
    for user in range(40):
        assert await reserve(lifecycle, guilds, user)
    for job_id in range(1, 41):
        await force_row(two_processes[0], job_id, state=JobState.WAITING)

    async def claim(db: Database, job_id: int) -> bool:
        caps = Caps(
            total=3,
            per_guild=10,
            per_member=10,
            guild_id=GUILD,
            user_id=job_id - 1,
            unknown_since=utcnow() - timedelta(minutes=10),
        )
        return await JobRepo(db).claim(job_id, caps, utcnow()) is not None

    claimed = await asyncio.gather(*(claim(two_processes[n % 2], n) for n in range(1, 41)))
    assert sum(claimed) == 3


async def seeded_sqlite(path: Path) -> None:
    async with open_database(path) as db:
        lifecycle, guilds = lifecycle_on(db, guild_seconds=100)
        for user in range(4):
            assert await reserve(lifecycle, guilds, user)
        job = await JobRepo(db).get(1)
        assert job is not None


async def test_migrate_db_copies_everything_and_proves_it(tmp_path, postgres_url, capsys):
    path = tmp_path / "tween.sqlite3"
    await seeded_sqlite(path)
    assert await asyncio.to_thread(move.main, str(path), postgres_url) == 0
    said = capsys.readouterr().out
    assert "copied" in said and "jobs 4" in said and "ledger sums equal for 1 guild(s)" in said
    async with open_database(postgres_url) as pg:
        lifecycle, guilds = lifecycle_on(pg, guild_seconds=100)
        assert await reserve(lifecycle, guilds, 9)  # ids continue after the copied rows
        assert [r["id"] for r in await pg.fetch_all("SELECT id FROM jobs ORDER BY id")] == [1, 2, 3, 4, 5]
        pot = await pg.fetch_one("SELECT reserved_seconds FROM pots WHERE scope = 'guild'")
        assert pot["reserved_seconds"] == 25


async def test_migrate_db_refuses_a_target_that_holds_data_and_says_so(tmp_path, postgres_url, capsys):
    path = tmp_path / "tween.sqlite3"
    await seeded_sqlite(path)
    assert await asyncio.to_thread(move.main, str(path), postgres_url) == 0
    assert await asyncio.to_thread(move.main, str(path), postgres_url) == 1
    assert "already holds data" in capsys.readouterr().err


async def test_migrate_db_refuses_what_is_not_a_database_before_touching_the_target(tmp_path, postgres_url, capsys):
    assert await asyncio.to_thread(move.main, str(tmp_path / "missing.sqlite3"), postgres_url) == 2
    assert "no SQLite database at" in capsys.readouterr().err
    assert await asyncio.to_thread(move.main, str(tmp_path / "missing.sqlite3"), "mysql://x") == 2


async def test_versions_asked_at_once_in_one_session_get_distinct_numbers(two_processes):
    from bot.db.sessions import SessionRepo

    db = two_processes[0]
    lifecycle, guilds = lifecycle_on(db)
    assert await reserve(lifecycle, guilds, 1)
    first = await force_row(db, 1, start_url="https://fal.media/start.png")
    session = await SessionRepo(db).create_for(first, thread_id=555, now=utcnow())

    async def version(user: int) -> int | None:
        draft = Draft(Requester(GUILD, user, 2), "p", 3, 336_000, "m", 1, session_id=session.id)
        return (await lifecycle.open(draft, await guilds.policy(GUILD))).version

    assert sorted(await asyncio.gather(*(version(u) for u in range(10)))) == list(range(2, 12))
