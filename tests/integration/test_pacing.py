"""Pacing against the fake fal: run lengths are learned (and survive a restart), and a webhook's word is acted on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.models import JobState
from tests.fakes.fal_server import FakeFal, JobScript
from tests.integration.conftest import open_stack, settings_for, tween_request
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


async def run_one(stack, fake_fal: FakeFal, run_seconds: float) -> int:
    """Submit one job that runs `run_seconds`; the number of status reads it took to see it finish."""
    fake_fal.script_next(JobScript(queue_seconds=0.0, run_seconds=run_seconds))
    job = await stack.services.jobs.submit(tween_request())
    await settled(stack, job.id, JobState.DELIVERED)
    return fake_fal.count("status", job.request_id)


async def test_learned_run_lengths_cut_status_reads_and_survive_a_restart(fake_fal: FakeFal, tmp_path: Path):
    settings = settings_for(fake_fal, tmp_path, tracker=PACED)
    async with open_stack(settings) as stack:
        first = [await run_one(stack, fake_fal, 0.6) for _ in range(3)]
        learned = await run_one(stack, fake_fal, 0.6)
        earliest = stack.services.tracker.pacer.runs.earliest(stack.settings.model.default.endpoint, 5)
    assert earliest is not None and 0.4 < earliest < 0.6
    # Without history a look every 20 ms for 0.6 s; with it, a sparse look, then looks only near the finish.
    assert min(first) >= 20 and learned <= min(first) / 2

    async with open_stack(settings) as restarted:
        # SQLite's julianday keeps about a millisecond.
        assert restarted.services.tracker.pacer.runs.earliest(settings.model.default.endpoint, 5) == pytest.approx(
            earliest, abs=0.005
        )


async def test_a_webhook_notice_looks_at_the_job_at_once(fake_fal: FakeFal, tmp_path: Path):
    slow = {"queued_interval": 0.02, "running_interval": 60.0, "running_sparse_interval": 60.0}
    async with open_stack(settings_for(fake_fal, tmp_path, tracker=slow)) as stack:
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
