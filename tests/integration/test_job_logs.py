"""Every line about a job's lifecycle carries its ids, so JSON logs can be filtered by job, guild or fal request."""

from __future__ import annotations

import logging

import pytest

from bot.models import JobState
from tests.fakes.fal import FakeFal, JobScript
from tests.integration.conftest import Stack, tween_request
from tests.integration.test_job_flow import settled
from tests.support.waiting import wait_until


async def test_each_lifecycle_line_names_the_job_guild_member_and_request(
    stack: Stack, fake_fal: FakeFal, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="bot")
    # The run lasts until the tracker has seen it running: a slow machine must not skip the "running" look.
    fake_fal.script_next(JobScript(run_seconds=None))
    job = await stack.services.jobs.submit(tween_request())
    running = f"job {job.id}: running at fal"
    await wait_until(lambda: any(r.getMessage() == running for r in caplog.records), what="the running line")
    fake_fal.release((await stack.services.jobs.get(job.id)).request_id)
    await settled(stack, job.id, JobState.DELIVERED)
    # The tracker writes DELIVERED to the row first and logs it after, so the row alone does not promise the line.
    delivered = f"job {job.id}: delivered as message"
    await wait_until(
        lambda: any(r.getMessage().startswith(delivered) for r in caplog.records), what="the delivered line"
    )

    lines = [r for r in caplog.records if r.getMessage().startswith(f"job {job.id}")]
    said = " | ".join(r.getMessage() for r in lines)
    for step in ("reserved", "submitted to fal", "running at fal", "completed at fal", "delivered as message"):
        assert step in said
    for record in lines:
        assert (record.job_id, record.guild_id, record.user_id) == (job.id, job.guild_id, job.user_id)
    after_submit = [r for r in lines if "reserved" not in r.getMessage()]
    assert all(r.request_id == job.request_id for r in after_submit)
