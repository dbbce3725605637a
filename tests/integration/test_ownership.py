"""Each process tracks only the jobs of guilds on its shards: one file with open jobs in guilds on shards 0 and 1
of 2, opened by a process for shard 1, then by one for shard 0."""

from __future__ import annotations

from bot.db.jobs import JobRepo
from bot.models import Job, JobState
from bot.sharding import ShardPlan, shard_of
from tests.fakes.fal_server import FakeFal, JobScript
from tests.integration.conftest import member, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import settled
from tests.support.waiting import wait_until

HELD = JobScript(queue_seconds=None, run_seconds=None)  # at fal until the test releases it, twice
CAPS = {"total": 2, "per_guild": 4, "per_member": 4}


def guild_on(shard: int, count: int = 2) -> int:
    guild = ((count * 1000 + shard) << 22) | 777
    assert shard_of(guild, count) == shard
    return guild


GUILD_0, GUILD_1 = guild_on(0), guild_on(1)


def finish(fake: FakeFal, job: Job) -> None:
    assert job.request_id is not None
    fake.release(job.request_id)
    fake.release(job.request_id)


async def test_a_process_resumes_and_starts_only_the_jobs_of_its_own_shards(fake_fal: FakeFal, tmp_path):
    # One process for every shard leaves, per guild, one job at fal and one waiting in Tween's queue (the total
    # cap of 2 is full). The shard-0 guild's waiting job is the older one, so it would start first if it could.
    everything = settings_for(fake_fal, tmp_path, concurrency=CAPS)
    fake_fal.script_next(HELD, HELD)
    async with open_stack(everything) as first:
        at_fal_0 = await first.services.jobs.submit(tween_request(who=member(guild_id=GUILD_0)))
        at_fal_1 = await first.services.jobs.submit(tween_request(who=member(guild_id=GUILD_1)))
        waiting_0 = await first.services.jobs.submit(tween_request(who=member(guild_id=GUILD_0)))
        waiting_1 = await first.services.jobs.submit(tween_request(who=member(guild_id=GUILD_1)))
        assert [j.state for j in (waiting_0, waiting_1)] == [JobState.WAITING, JobState.WAITING]
    assert at_fal_0.request_id is not None
    polls_of_0 = fake_fal.count("status", at_fal_0.request_id)

    shard_1 = settings_for(fake_fal, tmp_path, concurrency=CAPS, discord={"shard_count": 2, "shard_ids": "1"})
    async with open_stack(shard_1) as second:
        tracker = second.services.tracker
        assert tracker.resumed == 2  # shard 1's two jobs; shard 0's are another process's
        finish(fake_fal, at_fal_1)
        await settled(second, at_fal_1.id, JobState.DELIVERED)
        await settled(second, waiting_1.id, JobState.DELIVERED)  # the freed slot went to its own guild's job
        assert (await second.services.jobs.get(waiting_0.id)).state is JobState.WAITING
        assert (await second.services.jobs.get(at_fal_0.id)).state is JobState.QUEUED
        assert fake_fal.count("status", at_fal_0.request_id) == polls_of_0  # never looked at here
        # fal's webhook for the other process's job may reach this one: known, but not watched here.
        await wait_until(lambda: tracker.state().watched == 0, what="nothing left to watch")
        assert await tracker.notice(at_fal_0.request_id)
        assert tracker.state().watched == 0

    shard_0 = settings_for(fake_fal, tmp_path, concurrency=CAPS, discord={"shard_count": 2, "shard_ids": "0"})
    async with open_stack(shard_0) as third:
        assert third.services.tracker.resumed == 2
        finish(fake_fal, at_fal_0)
        await settled(third, at_fal_0.id, JobState.DELIVERED)
        await settled(third, waiting_0.id, JobState.DELIVERED)


async def test_open_and_waiting_jobs_are_listed_by_shard(fake_fal: FakeFal, tmp_path):
    fake_fal.script_next(HELD, HELD)
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        jobs = [await stack.services.jobs.submit(tween_request(who=member(guild_id=g))) for g in (GUILD_0, GUILD_1)]
        rows = JobRepo(stack.db)
        assert [j.id for j in await rows.list_open(ShardPlan(2, (1,)))] == [jobs[1].id]
        assert [j.id for j in await rows.list_open(ShardPlan(2, (0,)))] == [jobs[0].id]
        assert [j.id for j in await rows.list_open(ShardPlan(2, None))] == [j.id for j in jobs]
        assert [j.id for j in await rows.list_in([JobState.QUEUED], owned=ShardPlan(2, (0,)))] == [jobs[0].id]
        for job in jobs:
            finish(fake_fal, job)
        for job in jobs:
            await settled(stack, job.id, JobState.DELIVERED)


class RecordingPeers:
    """What a process tells the others (bot/db/pg_wake.py on PostgreSQL), recorded."""

    def __init__(self) -> None:
        self.woken: list[str] = []
        self.slots_freed = 0

    async def wake(self, request_id: str) -> None:
        self.woken.append(request_id)

    async def freed(self) -> None:
        self.slots_freed += 1


async def test_a_webhook_for_another_process_is_passed_on_once_and_a_freed_slot_is_announced(
    fake_fal: FakeFal, tmp_path
):
    fake_fal.script_next(HELD, HELD)
    shard_1 = settings_for(fake_fal, tmp_path, concurrency=CAPS, discord={"shard_count": 2, "shard_ids": "1"})
    everything = settings_for(fake_fal, tmp_path, concurrency=CAPS)
    async with open_stack(everything) as first:
        other = await first.services.jobs.submit(tween_request(who=member(guild_id=GUILD_0)))
    assert other.request_id is not None
    async with open_stack(shard_1) as stack:
        tracker = stack.services.tracker
        peers = tracker.peers = RecordingPeers()
        assert await tracker.notice(other.request_id)
        assert peers.woken == [other.request_id]  # fal's webhook for shard 0's job: passed on to its owner
        assert await tracker.notice(other.request_id, relay=False)
        assert peers.woken == [other.request_id]  # a notice passed on is never passed on again
        assert tracker.state().watched == 0

        own = await stack.services.jobs.submit(tween_request(who=member(guild_id=GUILD_1)))
        finish(fake_fal, own)
        await settled(stack, own.id, JobState.DELIVERED)
        await wait_until(lambda: peers.slots_freed == 1, what="the freed slot announced to the other processes")
        assert peers.woken == [other.request_id]
    async with open_stack(settings_for(fake_fal, tmp_path, concurrency=CAPS)) as last:
        finish(fake_fal, other)
        await settled(last, other.id, JobState.DELIVERED)
