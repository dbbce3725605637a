"""Pacing against the fake fal (polling, the status stream off): run lengths are learned (and survive a restart), and
a webhook's word is acted on."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.models import JobState
from bot.services.pacing import RunSample
from tests.fakes.fal_server import FakeFal, JobScript
from tests.integration.conftest import Stack, member, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import settled
from tests.support.waiting import wait_until

PACED = {
    "queued_interval": 0.02,
    "running_interval": 0.02,
    "running_sparse_interval": 0.5,
    "min_run_samples": 3,
    "early_quantile": 0.0,
    "early_margin": 0.8,
}
RUN = 0.6
# These are the polling pacer's tests: the status stream, when on, makes its looks moot.
POLLING = {"status_stream": False}
# Wall clock (the bot's) against monotonic (the fake's and the test's), and julianday's millisecond.
SLACK = 0.002


@dataclass
class Run:
    """One job as the test saw it, on the monotonic clock."""

    job_id: int
    received: float  # the fake took the submit; it finishes the job RUN seconds later
    returned: float  # submit() returned: the bot had read its clock for the run's start before this
    delivered: float  # the row read DELIVERED: the bot had read its clock for the run's end before this
    reads: list[float]  # each status read of the job, as the fake took it

    @property
    def shortest(self) -> float:
        """The least the bot can have timed: the run's start it notes is no later than `returned`."""
        return RUN - (self.returned - self.received)

    @property
    def longest(self) -> float:
        return self.delivered - self.received

    def reads_before(self, seconds: float) -> int:
        return sum(1 for at in self.reads if at < self.received + seconds)


async def run_one(stack: Stack, fake_fal: FakeFal) -> Run:
    fake_fal.script_next(JobScript(queue_seconds=0.0, run_seconds=RUN))
    job = await stack.services.jobs.submit(tween_request())
    returned = time.monotonic()
    await settled(stack, job.id, JobState.DELIVERED)
    delivered = time.monotonic()
    (submit,) = [s for s in fake_fal.submits if s.request_id == job.request_id]
    reads = [r.at for r in fake_fal.requests if r.route == "status" and r.request_id == job.request_id]
    return Run(job.id, submit.received_at, returned, delivered, reads)


def bracket(runs: list[Run]) -> tuple[float, float]:
    """Where early_margin times the shortest run must lie, however long each step took."""
    return 0.8 * min(r.shortest for r in runs) - SLACK, 0.8 * min(r.longest for r in runs) + SLACK


async def test_learned_run_lengths_cut_status_reads_and_survive_a_restart(fake_fal: FakeFal, tmp_path: Path):
    settings = settings_for(fake_fal, tmp_path, tracker=PACED, fal=POLLING)
    endpoint = settings.model.default.endpoint
    async with open_stack(settings) as stack:
        first = [await run_one(stack, fake_fal) for _ in range(3)]
        known = stack.services.tracker.pacer.runs.earliest(endpoint, 5)
        learned = await run_one(stack, fake_fal)
        earliest = stack.services.tracker.pacer.runs.earliest(endpoint, 5)
    runs = [*first, learned]
    assert known is not None and earliest is not None
    low, high = bracket(first)
    assert low <= known <= high
    low, high = bracket(runs)
    assert low <= earliest <= high

    # Before the earliest finish it knew of, a look every 20 ms would have read about known / 0.02 = 24 times.
    # Without history the tracker kept looking; with it, it looked once and slept until the finish could come.
    # Counted by when the fake took each read, which scheduling can delay but never bring forward.
    assert learned.reads_before(known) == 1
    assert all(run.reads_before(known) >= 2 for run in first), [run.reads_before(known) for run in first]

    async with open_stack(settings) as restarted:
        reloaded = restarted.services.tracker.pacer.runs.earliest(endpoint, 5)
        jobs = [await restarted.services.jobs.get(run.job_id) for run in runs]
    stored = [(job.finished_at - job.started_at).total_seconds() for job in jobs]
    for run, seconds in zip(runs, stored, strict=True):
        assert run.shortest - SLACK <= seconds <= run.longest + SLACK
    # What survives is what was stored. The live value can be longer by the time the completion took to commit:
    # the tracker times a run to a clock read after the commit, the row keeps the one before it.
    assert reloaded == pytest.approx(0.8 * min(stored), abs=SLACK)
    assert low <= reloaded <= high


async def test_a_webhook_notice_looks_at_the_job_at_once(fake_fal: FakeFal, tmp_path: Path):
    slow = {"queued_interval": 0.02, "running_interval": 60.0, "running_sparse_interval": 60.0}
    async with open_stack(settings_for(fake_fal, tmp_path, tracker=slow, fal=POLLING)) as stack:
        fake_fal.script_next(JobScript(queue_seconds=0.0, run_seconds=None))
        job = await stack.services.jobs.submit(tween_request())
        await settled(stack, job.id, JobState.RUNNING)
        reads = fake_fal.count("status", job.request_id)
        fake_fal.release(job.request_id)

        assert await stack.services.tracker.notice(job.request_id)
        await settled(stack, job.id, JobState.DELIVERED, timeout=5.0)
        assert fake_fal.count("status", job.request_id) == reads + 1
        # A repeat of the same notice finds the job finished and changes nothing.
        assert await stack.services.tracker.notice(job.request_id)
        assert not await stack.services.tracker.notice("no-such-request")
        await wait_until(lambda: len(stack.publisher.deliveries) == 1, what="one delivery")


async def test_a_run_ending_before_the_earliest_finish_brings_the_others_of_its_kind_forward(
    fake_fal: FakeFal, tmp_path: Path
):
    # History says a run takes 100 s: until 80 s in, running jobs are looked at once a minute.
    paced = {**PACED, "running_interval": 0.05, "running_sparse_interval": 60.0}
    caps = {"total": 4, "per_guild": 4, "per_member": 4}
    settings = settings_for(fake_fal, tmp_path, tracker=paced, concurrency=caps, fal=POLLING)
    endpoint = settings.model.default.endpoint
    async with open_stack(settings) as stack:
        stack.services.tracker.pacer.runs.extend(RunSample(endpoint, 5, 100.0) for _ in range(3))
        fake_fal.script_next(*[JobScript(queue_seconds=0.0, run_seconds=None)] * 2)
        first = await stack.services.jobs.submit(tween_request(who=member(1)))
        second = await stack.services.jobs.submit(tween_request(who=member(2)))
        for job in (first, second):
            await settled(stack, job.id, JobState.RUNNING)
        for job in (first, second):
            fake_fal.release(job.request_id)  # both done at fal, far sooner than history says

        assert await stack.services.tracker.notice(first.request_id)  # one finish is seen (here: told)
        await settled(stack, first.id, JobState.DELIVERED, timeout=5.0)
        # The other's next look was a minute away; the early finish brought it forward.
        await settled(stack, second.id, JobState.DELIVERED, timeout=5.0)


async def test_looks_that_change_nothing_read_no_job_row(fake_fal: FakeFal, tmp_path: Path):
    often = {"queued_interval": 0.02, "running_interval": 0.02, "running_sparse_interval": 0.02}
    async with open_stack(settings_for(fake_fal, tmp_path, tracker=often, fal=POLLING)) as stack:
        fake_fal.script_next(JobScript(queue_seconds=0.0, run_seconds=None))
        job = await stack.services.jobs.submit(tween_request())
        await settled(stack, job.id, JobState.RUNNING)
        reads: list[str] = []
        fetch_one = stack.db.fetch_one

        async def counted(sql: str, params: Any = ()) -> Any:
            if "FROM jobs" in sql and tuple(params) == (job.id,):
                reads.append(sql)
            return await fetch_one(sql, params)

        stack.db.fetch_one = counted  # type: ignore[method-assign]
        polled = fake_fal.count("status", job.request_id)
        await wait_until(lambda: fake_fal.count("status", job.request_id) >= polled + 10, what="ten more looks")
        # Nothing wrote the row meanwhile: at most the look after the one that noted the start read it again.
        assert len(reads) <= 1
        fake_fal.release(job.request_id)
        await settled(stack, job.id, JobState.DELIVERED)
