"""A cancel is a request, not a fact: Tween keeps the reservation and the slot and keeps tracking until fal says how
the job ended. A video means charged and delivered (the cancel came too late); a cancelled job means refunded."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import CannotCancel
from bot.models import FailureReason, JobState
from tests.fakes.fal_server import FakeFal, Fault, JobScript
from tests.integration.conftest import member, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import ledger, settled
from tests.support.waiting import wait_until


def capped(fake_fal: FakeFal, tmp_path, **tables):
    return settings_for(fake_fal, tmp_path, concurrency={"per_member": 1}, budget={"member_seconds": 100}, **tables)


async def test_a_cancel_fal_honours_refunds_only_once_fal_says_so_and_holds_the_slot_till_then(
    fake_fal: FakeFal, tmp_path
):
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(capped(fake_fal, tmp_path)) as stack:
        first = await stack.services.jobs.submit(tween_request())
        second = await stack.services.jobs.submit(tween_request())
        assert (first.state, second.state) == (JobState.QUEUED, JobState.WAITING)
        outcome = await stack.services.moderation.cancel(member(), first.id)
        assert not outcome.refunded and outcome.job.cancel_requested_by == member().user_id
        cancelled = await settled(stack, first.id, JobState.CANCELLED)
        assert cancelled.failure is FailureReason.CANCELLED
        await settled(stack, second.id, JobState.DELIVERED)
        assert await ledger(stack) == [("reserve", 5), ("reserve", 5), ("refund", 5), ("charge", 5)]
    assert fake_fal.max_at_fal() == 1  # the member's cap of one held while fal decided


async def test_a_cancel_that_races_the_start_is_charged_and_delivered(fake_fal: FakeFal, tmp_path):
    fake_fal.script_next(JobScript(queue_seconds=None, cancel_races_start=True))
    async with open_stack(capped(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        outcome = await stack.services.moderation.cancel(member(), job.id)
        assert not outcome.refunded
        done = await settled(stack, job.id, JobState.DELIVERED)
        assert done.cancel_requested_by == member().user_id  # the result says the cancel came too late
        assert await ledger(stack) == [("reserve", 5), ("charge", 5)]
    assert fake_fal.submits[0].request_id in fake_fal.bill


async def test_a_cancel_of_a_running_job_that_fal_lets_finish_is_charged(fake_fal: FakeFal, tmp_path):
    fake_fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    async with open_stack(capped(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await settled(stack, job.id, JobState.RUNNING)
        await stack.services.moderation.cancel(member(), job.id)
        with pytest.raises(CannotCancel) as again:
            await stack.services.moderation.cancel(member(), job.id)
        assert again.value.reason == "already_requested"
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(stack, job.id, JobState.DELIVERED)
        assert await ledger(stack) == [("reserve", 5), ("charge", 5)]


async def test_a_cancel_fal_cannot_be_asked_for_says_so_and_changes_nothing(fake_fal: FakeFal, tmp_path):
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(capped(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        fake_fal.inject(Fault(route="cancel", status=503, times=stack.settings.fal.max_attempts))
        with pytest.raises(CannotCancel) as caught:
            await stack.services.moderation.cancel(member(), job.id)
        assert caught.value.reason == "unreachable"
        unchanged = await stack.services.jobs.get(job.id)
        assert unchanged.state is JobState.QUEUED and unchanged.cancel_requested_by is None
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(stack, job.id, JobState.DELIVERED)


async def test_a_cancel_pressed_while_the_submit_is_in_flight_reaches_fal_once_it_has_an_id(
    fake_fal: FakeFal, tmp_path, monkeypatch
):
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(capped(fake_fal, tmp_path)) as stack:
        real_submit, gate = stack.fal.submit, asyncio.Event()

        async def slow_submit(*args, **kwargs):
            await gate.wait()
            return await real_submit(*args, **kwargs)

        monkeypatch.setattr(stack.fal, "submit", slow_submit)
        started = asyncio.create_task(stack.services.jobs.submit(tween_request()))
        job = await wait_until(lambda: stack.publisher.cards and next(iter(stack.publisher.cards)), what="a card")
        await settled(stack, job, JobState.SUBMITTING)
        outcome = await stack.services.moderation.cancel(member(), job)
        assert not outcome.refunded and outcome.job.state is JobState.SUBMITTING
        gate.set()
        await started
        await settled(stack, job, JobState.CANCELLED)
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]
    assert fake_fal.cancelled == {fake_fal.submits[0].request_id}


async def test_fal_itself_refuses_to_start_a_job_past_the_queue_deadline(fake_fal: FakeFal, tmp_path):
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(capped(fake_fal, tmp_path, tracker={"queue_deadline": 0.5})) as stack:
        job = await stack.services.jobs.submit(tween_request())
        failed = await settled(stack, job.id, JobState.FAILED)
        assert failed.failure is FailureReason.STUCK
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]
    assert fake_fal.submits[0].headers.get("X-Fal-Request-Timeout") == "0.5"
    assert fake_fal.cancelled == set()  # no cancel, so no race with a start
