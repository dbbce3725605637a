"""Tracking through fal's status stream: a finish seen at once for one read, and every way a stream fails falling
back to polling without losing or doubling a job."""

from __future__ import annotations

from pathlib import Path

from bot.models import JobState
from bot.services.pacing import RunSample
from tests.fakes.fal import StreamScript
from tests.fakes.fal_server import FakeFal, Fault, JobScript
from tests.integration.conftest import member, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import settled
from tests.support.waiting import wait_until

HELD = JobScript(queue_seconds=None, run_seconds=None)  # moves on only when the test releases it
# Polling so slow that only the stream can explain a prompt finish.
SLOW_POLL = {"queued_interval": 60.0, "queued_interval_cap": 60.0, "running_interval": 60.0}
CAPS = {"total": 4, "per_guild": 4, "per_member": 4}


def settings(fake: FakeFal, tmp_path: Path, **fal: object):
    return settings_for(fake, tmp_path, tracker=SLOW_POLL, concurrency=CAPS, fal=fal)


async def test_a_running_job_is_followed_to_its_video_without_a_poll(fake_fal: FakeFal, tmp_path: Path):
    fake_fal.script_next(HELD)
    async with open_stack(settings(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await wait_until(lambda: fake_fal.streams.open(job.request_id), what="its stream open")
        fake_fal.release(job.request_id)  # running
        await settled(stack, job.id, JobState.RUNNING)
        # Every look before this one has ended (a job's looks run one at a time). The first look polls; a second,
        # asked for by the submit, polls too when it runs before the stream's first event: that depends on timing.
        polled = fake_fal.count("status", job.request_id)
        fake_fal.release(job.request_id)  # done
        await settled(stack, job.id, JobState.DELIVERED)
    # The whole run without a poll (polling is a minute apart here): the stream told the finish.
    assert fake_fal.count("status", job.request_id) == polled
    assert fake_fal.count("stream", job.request_id) == 1 and fake_fal.count("result", job.request_id) == 1


async def test_a_stream_that_dies_mid_run_falls_back_to_polling_and_comes_back(fake_fal: FakeFal, tmp_path: Path):
    fake_fal.script_next(HELD)
    fake_fal.streams.script(StreamScript(drop_at="IN_PROGRESS", how="reset"))
    async with open_stack(settings(fake_fal, tmp_path, stream_retry=0.2)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await wait_until(lambda: fake_fal.streams.open(job.request_id), what="its stream open")
        fake_fal.release(job.request_id)  # running: the stream breaks as it would have said so
        await settled(stack, job.id, JobState.RUNNING)  # seen by the poll that replaced it
        await wait_until(lambda: fake_fal.streams.open(job.request_id), what="a new stream")
        fake_fal.release(job.request_id)
        await settled(stack, job.id, JobState.DELIVERED)
        await wait_until(lambda: len(stack.publisher.deliveries) == 1, what="one delivery")
    assert fake_fal.count("stream", job.request_id) == 2 and fake_fal.count("result", job.request_id) == 1


async def test_a_stream_that_stalls_silently_is_given_up_and_the_job_polled(fake_fal: FakeFal, tmp_path: Path):
    fake_fal.script_next(HELD)
    fake_fal.streams.script(StreamScript(stall_after=1))
    fast_poll = {"queued_interval": 0.05, "queued_interval_cap": 0.05, "running_interval": 0.05}
    tuned = settings_for(
        fake_fal,
        tmp_path,
        tracker=fast_poll,
        concurrency=CAPS,
        fal={"stream_stall_timeout": 0.5, "stream_retry": 3600.0},
    )
    async with open_stack(tuned) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await wait_until(lambda: fake_fal.streams.stalled(job.request_id), what="its stream stalled")
        fake_fal.release(job.request_id)
        fake_fal.release(job.request_id)
        # Given up after half a second of silence; polled from then on (the stream is not reopened for an hour).
        await settled(stack, job.id, JobState.DELIVERED)
    assert fake_fal.count("stream", job.request_id) == 1 and fake_fal.count("result", job.request_id) == 1


async def test_a_refused_stream_leaves_the_job_to_polling(fake_fal: FakeFal, tmp_path: Path):
    fake_fal.script_next(JobScript(queue_seconds=0.05, run_seconds=0.1))
    fake_fal.inject(Fault(route="stream", status=429, headers={"Retry-After": "1"}))
    fast_poll = {"queued_interval": 0.05, "queued_interval_cap": 0.05, "running_interval": 0.05}
    tuned = settings_for(fake_fal, tmp_path, tracker=fast_poll, concurrency=CAPS, fal={"stream_retry": 3600.0})
    async with open_stack(tuned) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await settled(stack, job.id, JobState.DELIVERED)
    assert fake_fal.count("stream", job.request_id) == 1  # refused once, then polled to the end


async def test_a_restart_while_streams_are_open_delivers_each_job_once(fake_fal: FakeFal, tmp_path: Path):
    fake_fal.script_next(HELD, HELD, HELD)
    tuned = settings(fake_fal, tmp_path)
    async with open_stack(tuned) as first:
        jobs = [await first.services.jobs.submit(tween_request(who=member(u))) for u in (1, 2, 3)]
        for job in jobs:
            await wait_until(lambda job=job: fake_fal.streams.open(job.request_id), what="streams open")
        fake_fal.release(jobs[0].request_id)  # running before the restart
    async with open_stack(tuned) as second:
        for job in jobs:  # a second stream each (the fake may not yet have seen the first ones go)
            await wait_until(lambda job=job: fake_fal.count("stream", job.request_id) >= 2, what="streams again")
        for job in jobs:
            fake_fal.release(job.request_id)
            if job is not jobs[0]:
                fake_fal.release(job.request_id)
        for job in jobs:
            await settled(second, job.id, JobState.DELIVERED)
        await wait_until(lambda: len(second.publisher.deliveries) == 3, what="three deliveries")
    assert len(first.publisher.deliveries) == 0
    assert [fake_fal.count("result", j.request_id) for j in jobs] == [1, 1, 1]


async def test_a_stream_that_stays_connected_but_falls_silent_is_checked_once_the_run_is_overdue(
    fake_fal: FakeFal, tmp_path: Path
):
    fake_fal.script_next(HELD)
    fake_fal.streams.script(StreamScript(stall_after=2, stall_keepalives=True))  # after IN_QUEUE and IN_PROGRESS
    # Runs usually take 0.2 s here; a poll checks on the stream once one has taken 1.5 times that.
    tracker = {**SLOW_POLL, "usual_run_base": 0.2, "usual_run_per_second": 0.0, "running_sparse_interval": 0.1}
    tuned = settings_for(fake_fal, tmp_path, tracker=tracker, concurrency=CAPS)
    async with open_stack(tuned) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await wait_until(lambda: fake_fal.streams.open(job.request_id), what="its stream open")
        fake_fal.release(job.request_id)  # running, as the stream says; then it goes quiet but keeps its keep-alives
        await settled(stack, job.id, JobState.RUNNING)
        await wait_until(lambda: fake_fal.streams.stalled(job.request_id), what="the stream silent")
        fake_fal.release(job.request_id)  # done, and the stream says nothing
        await settled(stack, job.id, JobState.DELIVERED)
    (stream,) = [r for r in fake_fal.streams.records if r.request_id == job.request_id]
    assert stream.stalled and stream.statuses == ["IN_QUEUE", "IN_PROGRESS"]  # silent after: a poll found the finish
    assert fake_fal.count("result", job.request_id) == 1


async def test_an_early_finish_brings_no_poll_forward_for_the_streamed_jobs_of_its_kind(
    fake_fal: FakeFal, tmp_path: Path
):
    # History says a run takes 100 s; a run ending far sooner brings polled jobs' looks forward, not streamed ones'.
    paced = {**SLOW_POLL, "running_interval": 0.05, "running_sparse_interval": 60.0, "min_run_samples": 3}
    paced |= {"early_quantile": 0.0, "early_margin": 0.8}
    settings = settings_for(fake_fal, tmp_path, tracker=paced, concurrency=CAPS)
    endpoint = settings.model.default.endpoint
    async with open_stack(settings) as stack:
        tracker = stack.services.tracker
        tracker.pacer.runs.extend(RunSample(endpoint, 5, 100.0) for _ in range(3))
        fake_fal.script_next(HELD, HELD)
        first = await stack.services.jobs.submit(tween_request(who=member(1)))
        second = await stack.services.jobs.submit(tween_request(who=member(2)))
        for job in (first, second):
            await wait_until(lambda job=job: fake_fal.streams.open(job.request_id), what="its stream open")
            fake_fal.release(job.request_id)  # running
            await settled(stack, job.id, JobState.RUNNING)
        polled = fake_fal.count("status", second.request_id)
        fake_fal.release(first.request_id)  # done, long before history says
        await settled(stack, first.id, JobState.DELIVERED)
        await wait_until(lambda: (tracker.next_look_in(second.id) or 0.0) > 30, what="the other's look far off")
        # Its stream tells its finish: a look brought forward would only have cost a read.
        assert fake_fal.count("status", second.request_id) == polled
