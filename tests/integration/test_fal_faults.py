"""fal misbehaving in every way the reference lists: each job still ends delivered or refunded, once."""

from __future__ import annotations

import pytest

from bot.models import FailureReason, JobState
from tests.fakes.fal_server import FakeFal, Fault, JobScript
from tests.integration.conftest import MOD, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import ledger, settled
from tests.support.waiting import wait_until

RIDDEN_OUT = {
    "malformed status JSON": [Fault(route="status", status=200, body=b"<html>oops</html>")],
    "unknown status": [Fault(route="status", status=200, body={"status": "TELEPORTING"})],
    "status timeout": [Fault(route="status", delay=1.0)],
    "dropped status connection": [Fault(route="status", drop=True, times=2)],
    "5xx on every route once": [
        Fault(route=r, status=s) for r, s in (("status", 500), ("status", 502), ("status", 503), ("result", 504))
    ],
    "429 with Retry-After": [Fault(route="status", status=429, headers={"Retry-After": "0"}, times=3)],
    "video download dropped": [Fault(route="video", drop=True)],
    "video 503 then fine": [Fault(route="video", status=503)],
}


@pytest.mark.parametrize("faults", RIDDEN_OUT.values(), ids=RIDDEN_OUT.keys())
async def test_transient_faults_are_ridden_out(fake_fal: FakeFal, tmp_path, faults):
    settings = settings_for(fake_fal, tmp_path, fal={"read_timeout": 0.4})
    fake_fal.inject(*faults)
    async with open_stack(settings) as stack:
        job = await stack.services.jobs.submit(tween_request())
        done = await settled(stack, job.id, JobState.DELIVERED)
        assert await ledger(stack) == [("reserve", 5), ("charge", 5)]
    assert len(stack.publisher.deliveries) == 1 and len(fake_fal.submits) == 1
    assert done.video_url and stack.publisher.deliveries[0].video == fake_fal.video_bytes(
        fake_fal.submits[0].request_id
    )


async def test_a_finished_run_whose_result_is_gone_is_charged_as_fal_billed_it(fake_fal: FakeFal, tmp_path):
    fake_fal.inject(Fault(route="result", status=404, body={"detail": "Request not found"}))
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        lost = await settled(stack, job.id, JobState.UNDELIVERABLE)
        assert lost.failure is FailureReason.LOST and job.request_id in fake_fal.bill
        assert await ledger(stack) == [("reserve", 5), ("charge", 5)]
        await wait_until(lambda: stack.publisher.notices, what="the member's notice")
        assert stack.publisher.notices[-1].state is JobState.UNDELIVERABLE


async def test_video_url_that_keeps_failing_ends_as_a_link(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    fake_fal.inject(Fault(route="video", status=404, times=50))
    async with open_stack(settings) as stack:
        job = await stack.services.jobs.submit(tween_request())
        done = await settled(stack, job.id, JobState.DELIVERED)
    (delivery,) = stack.publisher.deliveries
    assert delivery.video is None and delivery.link == done.video_url
    assert done.delivery_attempts == settings.tracker.max_delivery_attempts - 1


async def test_fal_unreachable_for_submit_refunds_without_a_storm(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    fake_fal.inject(Fault(route="submit", status=429, headers={"Retry-After": "0"}, times=100))
    async with open_stack(settings) as stack:
        job = await stack.services.jobs.submit(tween_request())
        failed = await settled(stack, job.id, JobState.FAILED)
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]
    assert failed.failure is FailureReason.FAL_UNREACHABLE
    assert fake_fal.count("submit") == settings.fal.max_attempts  # refused each time; never more than the cap


async def test_one_submit_that_blows_up_never_strands_the_others_started_with_it(
    fake_fal: FakeFal, tmp_path, monkeypatch
):
    settings = settings_for(fake_fal, tmp_path, budget={"member_seconds": 100}, concurrency={"per_guild": 1})
    fake_fal.script_next(JobScript(run_seconds=None))  # holds the one slot until the others wait behind it
    async with open_stack(settings) as stack:
        holder = await stack.services.jobs.submit(tween_request())
        waiting = [await stack.services.jobs.submit(tween_request()) for _ in range(3)]
        assert [j.state for j in waiting] == [JobState.WAITING] * 3
        real_submit = stack.fal.submit
        blown: list[str] = []

        async def first_blows_up(endpoint, arguments, **kwargs):
            if not blown:
                blown.append(endpoint)
                raise RuntimeError("an answer nobody foresaw")
            return await real_submit(endpoint, arguments, **kwargs)

        monkeypatch.setattr(stack.fal, "submit", first_blows_up)
        # One pass of Tween's queue claims all three at once.
        await stack.services.moderation.configure(MOD, "caps", member_concurrency=5, guild_concurrency=5)
        await settled(stack, waiting[0].id, JobState.SUBMIT_UNKNOWN)  # its fate at fal is unknown: never re-sent
        for job in waiting[1:]:
            await settled(stack, job.id, JobState.DELIVERED)
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(stack, holder.id, JobState.DELIVERED)
    assert len(fake_fal.submits) == 3


async def test_a_5xx_from_behind_fals_ingress_is_looked_up_and_tracked_when_fal_queued_it(fake_fal: FakeFal, tmp_path):
    fake_fal.inject(Fault(route="submit", status=503, after_effect=True, carries_request_id=True))
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        done = await settled(stack, job.id, JobState.DELIVERED)
        assert done.request_id == fake_fal.submits[0].request_id
        assert await ledger(stack) == [("reserve", 5), ("charge", 5)]
    assert len(fake_fal.submits) == 1  # looked up, never sent again


async def test_a_5xx_naming_a_request_fal_never_queued_is_refunded(fake_fal: FakeFal, tmp_path):
    fake_fal.inject(Fault(route="submit", status=503, carries_request_id=True))
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        failed = await settled(stack, job.id, JobState.FAILED)
        assert failed.failure is FailureReason.FAL_UNREACHABLE
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]
    assert fake_fal.submits == []


async def test_an_undecodable_answer_to_a_submit_fal_queued_is_tracked_by_its_request_id(fake_fal: FakeFal, tmp_path):
    fake_fal.inject(
        Fault(route="submit", status=200, body=b"\x1f\x8b garbled", after_effect=True, carries_request_id=True)
    )
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        await settled(stack, job.id, JobState.DELIVERED)
        assert await ledger(stack) == [("reserve", 5), ("charge", 5)]


@pytest.mark.parametrize("error_type", ["runner_disconnected", "internal_error", "request_timeout"])
async def test_a_run_that_failed_only_at_the_result_is_refunded_within_the_attempts(
    fake_fal: FakeFal, tmp_path, error_type
):
    fake_fal.script_next(JobScript(outcome="result_error", error_type=error_type))
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())
        failed = await settled(stack, job.id, JobState.FAILED)
        assert failed.failure is FailureReason.FAL_ERROR and failed.failure_detail
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]
        await wait_until(lambda: stack.publisher.notices, what="the member's notice")
    assert fake_fal.count("result") <= stack.settings.fal.max_attempts


async def test_a_lost_submit_holds_its_slot_until_fal_can_no_longer_be_running_it(fake_fal: FakeFal, tmp_path):
    settings = settings_for(
        fake_fal,
        tmp_path,
        concurrency={"per_member": 1},
        budget={"member_seconds": 100},
        tracker={"queue_deadline": 0.3, "longest_run": 0.3},
    )
    fake_fal.inject(Fault(route="submit", drop=True, after_effect=True))  # fal has it; Tween cannot know
    async with open_stack(settings) as stack:
        lost = await stack.services.jobs.submit(tween_request())
        assert lost.state is JobState.SUBMIT_UNKNOWN
        second = await stack.services.jobs.submit(tween_request())
        assert second.state is JobState.WAITING  # the member's one slot may still be busy at fal
        await settled(stack, second.id, JobState.DELIVERED)  # started once fal's deadline and a run had passed
        await stack.services.moderation.settle(MOD, lost.id, billed=True)
    assert fake_fal.max_at_fal(running_only=True) == 1
