"""A crash at each state boundary of a job, then a restart on the same database: each job ends delivered
exactly once or refunded exactly once, fal sees at most one submit, and the member is told."""

from __future__ import annotations

import pytest

from bot.errors import DeliveryFailed
from bot.models import JobState
from tests.fakes.fal_server import FakeFal, JobScript
from tests.integration.conftest import MOD, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import ledger, settled
from tests.support.publisher import RecordingPublisher
from tests.support.rows import force_row
from tests.support.waiting import wait_until


async def crash_and_restart(fake_fal: FakeFal, tmp_path, *, hold: JobScript, left_in: JobState | None):
    """Run one job until fal holds it, force the row into `left_in` (where the crash left it), restart."""
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher()
    fake_fal.script_next(hold)
    async with open_stack(settings, publisher) as first:
        job = await first.services.jobs.submit(tween_request())
        if left_in is not None:
            await first.services.tracker.stop()
            await force_row(first.db, job.id, state=left_in)
    return settings, publisher, job


@pytest.mark.parametrize("left_in", [JobState.QUEUED, JobState.RUNNING])
async def test_crash_while_at_fal_resumes_and_delivers_once(fake_fal: FakeFal, tmp_path, left_in):
    settings, publisher, job = await crash_and_restart(
        fake_fal, tmp_path, hold=JobScript(queue_seconds=None, run_seconds=None), left_in=left_in
    )
    async with open_stack(settings, publisher) as second:
        fake_fal.release(fake_fal.submits[0].request_id)
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(second, job.id, JobState.DELIVERED)
        assert await ledger(second) == [("reserve", 5), ("charge", 5)]
    assert len(publisher.deliveries) == 1 and len(fake_fal.submits) == 1


async def test_crash_after_completion_before_delivery(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher(fail_deliveries=100)  # Discord unreachable: the job stays COMPLETED/DELIVERING
    async with open_stack(settings, publisher) as first:
        job = await first.services.jobs.submit(tween_request())
        await wait_until(lambda: fake_fal.count("result") == 1, what="fal's result")
        await settled(first, job.id, JobState.COMPLETED, JobState.DELIVERING)
        await first.services.tracker.stop()
        await force_row(first.db, job.id, state=JobState.COMPLETED, delivery_attempts=0)
    publisher.fail_deliveries = 0
    async with open_stack(settings, publisher) as second:
        await settled(second, job.id, JobState.DELIVERED)
        assert await ledger(second) == [("reserve", 5), ("charge", 5)]  # charged once, not again
    assert len(publisher.deliveries) == 1 and len(fake_fal.submits) == 1


async def left_mid_delivery(fake_fal: FakeFal, tmp_path):
    """A job as the process left it when it died during the upload to Discord, with nothing posted."""
    settings, publisher, job = await crash_and_restart(fake_fal, tmp_path, hold=JobScript(), left_in=None)
    async with open_stack(settings, publisher) as first:
        await settled(first, job.id, JobState.DELIVERED)
        publisher.deliveries.clear()
        await force_row(first.db, job.id, state=JobState.DELIVERING)
    return settings, publisher, job


async def test_crash_mid_upload_to_discord_posts_once(fake_fal: FakeFal, tmp_path):
    settings, publisher, job = await left_mid_delivery(fake_fal, tmp_path)
    async with open_stack(settings, publisher) as second:
        await settled(second, job.id, JobState.DELIVERED)
    assert len(publisher.deliveries) == 1 and len(fake_fal.submits) == 1


async def test_crash_after_upload_before_submit_submits_once(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher()
    async with open_stack(settings, publisher) as first:
        await first.services.moderation.configure(MOD, "approval", approval="always")  # stops it before the submit
        job = await first.services.jobs.submit(tween_request())
        await first.services.moderation.configure(MOD, "approval", approval="off")
        await first.services.tracker.stop()
        # The frames were uploaded and the card placed; the crash came before the job joined the queue.
        await force_row(first.db, job.id, state=JobState.UPLOADED)
    assert fake_fal.submits == []
    async with open_stack(settings, publisher) as second:
        await settled(second, job.id, JobState.DELIVERED)
        assert await ledger(second) == [("reserve", 5), ("charge", 5)]
    assert len(fake_fal.submits) == 1 and len(publisher.deliveries) == 1


async def test_crash_after_a_job_began_to_wait_for_approval_but_before_its_card_refunds_it(
    fake_fal: FakeFal, tmp_path
):
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher()
    async with open_stack(settings, publisher) as first:
        await first.services.moderation.configure(MOD, "approval", approval="always")
        job = await first.services.jobs.submit(tween_request())
        await first.services.tracker.stop()
        # No card and no approval request: nobody could ever approve it, so its seconds must not stay reserved.
        await force_row(first.db, job.id, state=JobState.AWAITING_APPROVAL, card_message_id=None)
    async with open_stack(settings, publisher) as second:
        await settled(second, job.id, JobState.FAILED)
        assert await ledger(second) == [("reserve", 5), ("refund", 5)]
    assert fake_fal.submits == []


class BlindPublisher(RecordingPublisher):
    """Cannot read a thread back (as without Read Message History)."""

    async def find_delivery(self, job):
        raise DeliveryFailed("403 Forbidden: Missing Access")


async def test_a_thread_that_cannot_be_read_back_ends_undeliverable_rather_than_looping(fake_fal: FakeFal, tmp_path):
    settings, _, job = await left_mid_delivery(fake_fal, tmp_path)
    blind = BlindPublisher()
    async with open_stack(settings, blind) as second:
        done = await settled(second, job.id, JobState.UNDELIVERABLE)
    # Posting without knowing whether the video is already there could post it twice.
    assert blind.deliveries == [] and done.delivery_attempts == settings.tracker.max_delivery_attempts
