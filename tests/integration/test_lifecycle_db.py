"""The lifecycle on a real SQLite file: each step returns the row it wrote, moves money in the same transaction,
refuses a step the table does not allow, and changes nothing for a stale writer."""

import asyncio

import pytest

from bot.db.connection import open_database
from bot.db.guilds import GuildRepo
from bot.db.jobs import Caps, JobRepo
from bot.models import FailureReason, Job, JobState, Requester, Transition
from bot.periods import utcnow
from bot.services.budget import BudgetService
from bot.services.lifecycle import Draft, IllegalTransition, Lifecycle
from tests.support.rows import force_row
from tests.support.settings import make_settings
from tests.support.waiting import wait_until

GUILD = 5


@pytest.fixture
async def world(tmp_path):
    async with open_database(tmp_path / "tween.sqlite3") as db:
        settings = make_settings(budget={"default_seconds": 60, "member_seconds": 60})
        guilds = GuildRepo(db, settings)
        budget = BudgetService(db, guilds, JobRepo(db), settings)
        yield Lifecycle(db, JobRepo(db), budget, utcnow), budget, guilds, db


async def opened(world, seconds: int = 5):
    lifecycle, _, guilds, _ = world
    draft = Draft(Requester(GUILD, 1, 2), "p", seconds, price_micros=560_000, model="m", upload_limit=1)
    return await lifecycle.open(draft, await guilds.policy(GUILD))


async def ledger(db) -> list[tuple[str, int]]:
    rows = await db.fetch_all("SELECT kind, SUM(seconds) FROM ledger GROUP BY kind ORDER BY kind")
    return [tuple(r) for r in rows]


async def test_each_step_returns_the_row_as_written(world):
    lifecycle = world[0]
    job = await opened(world)
    assert job.state is JobState.RESERVED and job.id == 1
    uploaded = await lifecycle.move(job, Transition.UPLOAD, start_url="https://s/1.png")
    assert (uploaded.state, uploaded.start_url) == (JobState.UPLOADED, "https://s/1.png")
    noted = await lifecycle.note(uploaded, card_message_id=77)
    assert (noted.state, noted.card_message_id) == (JobState.UPLOADED, 77)


async def test_a_step_the_table_does_not_allow_is_an_error_and_changes_nothing(world):
    lifecycle, _, _, db = world
    job = await opened(world)
    with pytest.raises(IllegalTransition, match="complete is not allowed from reserved"):
        await lifecycle.move(job, Transition.COMPLETE, video_url="https://v")
    with pytest.raises(ValueError, match="transition"):
        await lifecycle.note(job, state=JobState.DELIVERED)
    row = await JobRepo(db).get(job.id)
    assert row.state is JobState.RESERVED and row.video_url is None
    assert await ledger(db) == [("reserve", 10)]  # the guild's pot and the member's


async def test_a_stale_writer_changes_nothing_and_moves_no_money(world):
    lifecycle, budget, _, db = world
    job = await opened(world)
    cancelled = await lifecycle.fail(job, FailureReason.CANCELLED, "by the member", transition=Transition.CANCEL)
    assert cancelled.state is JobState.CANCELLED
    assert await lifecycle.fail(job, FailureReason.INTERNAL, "late") is None  # holds the old RESERVED row
    assert await ledger(db) == [("refund", 10), ("reserve", 10)]
    pot = await budget.guild_pot(GUILD)
    assert (pot.reserved_seconds, pot.spent_seconds) == (0, 0)


async def test_completion_charges_in_the_same_step(world):
    lifecycle, budget, _, db = world
    job = await opened(world)
    for step in (Transition.UPLOAD, Transition.ENQUEUE):
        job = await lifecycle.move(job, step)
    with pytest.raises(ValueError, match="caps"):
        await lifecycle.move(job, Transition.CLAIM)
    since = utcnow()
    full = Caps(total=1, per_guild=1, per_member=0, guild_id=GUILD, user_id=1, unknown_since=since)
    assert await lifecycle.claim(job, full) is None  # the member's cap has no room
    roomy = Caps(total=1, per_guild=1, per_member=1, guild_id=GUILD, user_id=1, unknown_since=since)
    job = await lifecycle.claim(job, roomy)
    assert job is not None and job.state is JobState.SUBMITTING
    job = await lifecycle.move(job, Transition.SUBMITTED, request_id="r1")
    done = await lifecycle.move(job, Transition.COMPLETE, video_url="https://v")
    assert done.state is JobState.COMPLETED
    assert await ledger(db) == [("charge", 10), ("reserve", 10)]
    pot = await budget.guild_pot(GUILD)
    assert (pot.reserved_seconds, pot.spent_seconds) == (0, 5)


async def at_fal(world) -> tuple[Lifecycle, JobRepo, Job]:
    _, budget, _, db = world
    rows = JobRepo(db)
    job = await opened(world)
    await force_row(db, job.id, state=JobState.RUNNING, request_id="r1", status_url="https://q/r1/status")
    return Lifecycle(db, rows, budget, utcnow), rows, job


async def test_a_row_kept_for_looks_is_dropped_by_every_write(world):
    lifecycle, rows, job = await at_fal(world)
    reads: list[int] = []
    db = world[3]
    fetch_one = db.fetch_one

    async def counted(sql, params=()):
        reads.append(1)
        return await fetch_one(sql, params)

    db.fetch_one = counted
    seen = await rows.watched(job.id)
    assert seen.state is JobState.RUNNING and await rows.watched(job.id) is seen and len(reads) == 1
    await lifecycle.note(seen, while_in=[JobState.RUNNING], queue_position=3)
    assert (await rows.watched(job.id)).queue_position == 3 and len(reads) == 2
    done = await lifecycle.move(await rows.watched(job.id), Transition.COMPLETE, video_url="https://v")
    assert (await rows.watched(job.id)).state is JobState.COMPLETED is done.state
    await rows.watched(job.id)
    assert len(reads) == 4  # a job no longer at fal is not kept


async def test_a_read_that_overlapped_a_write_is_not_kept(world):
    lifecycle, rows, job = await at_fal(world)
    db = world[3]
    fetch_one = db.fetch_one
    gate = asyncio.Event()
    reads: list[int] = []

    async def slow(sql, params=()):
        reads.append(1)
        row = await fetch_one(sql, params)  # read before the write below
        await gate.wait()
        return row

    db.fetch_one = slow
    reading = asyncio.create_task(rows.watched(job.id))
    await wait_until(lambda: reads, what="the read under way")
    await lifecycle.note(job, queue_position=7)
    gate.set()
    assert (await reading).queue_position is None  # the older row, returned to its caller but not kept
    assert (await rows.watched(job.id)).queue_position == 7 and len(reads) == 2
