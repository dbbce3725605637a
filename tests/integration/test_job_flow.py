"""The job service and tracker end to end against the fake fal server: money, states, delivery."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from bot.errors import BudgetExhausted, DeliveryFailed, ImageRejected, InputRejected
from bot.models import FailureReason, Job, JobState
from bot.ops.metrics import classify_fal_request
from tests.fakes.fal_server import MODEL, FakeFal, Fault, JobScript
from tests.integration.conftest import GUILD, MOD, Stack, open_stack, settings_for, tween_request
from tests.support.images import image_bytes
from tests.support.publisher import RecordingPublisher
from tests.support.rows import force_row
from tests.support.waiting import wait_until


async def ledger(stack: Stack, scope: str = "guild") -> list[tuple[str, int]]:
    """The ledger lines of one kind of pot (each job also has matching lines for the member's pot)."""
    rows = await stack.db.fetch_all(
        "SELECT kind, seconds FROM ledger l JOIN pots p ON p.id = l.pot_id WHERE p.scope = ? ORDER BY l.id", (scope,)
    )
    return [(r["kind"], r["seconds"]) for r in rows]


async def settled(stack: Stack, job_id: int, *states: JobState, timeout: float = 10.0) -> Job:
    """Look at the row every 10 ms until it reaches one of `states`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (job := await stack.services.jobs.get(job_id)).state not in states:
        if loop.time() > deadline:
            raise AssertionError(f"job {job_id} stuck in {job.state}, wanted {states}")
        await asyncio.sleep(0.01)
    return job


async def test_happy_path_submits_once_delivers_exact_bytes_and_charges(stack: Stack, fake_fal: FakeFal):
    # Both phases last until released: timed ones could end before submit() returns (RUNNING, not QUEUED) or
    # between two looks (no RUNNING card at all).
    fake_fal.script_next(JobScript(queue_seconds=None, run_seconds=None))
    job = await stack.services.jobs.submit(tween_request(duration=5))
    assert job.state is JobState.QUEUED and job.card_message_id and job.thread_id

    assert len(fake_fal.submits) == 1
    submit = fake_fal.submits[0]
    assert submit.body["prompt"] == "@Image1 turns into @Image2"
    assert submit.body["duration"] == "5"
    assert set(submit.body) == {"prompt", "start_image_url", "end_image_url", "duration"}
    await wait_until(lambda: len(submit.fetched_images) == 2, what="fal fetching both frames")
    fake_fal.release(submit.request_id)
    await settled(stack, job.id, JobState.RUNNING)
    fake_fal.release(submit.request_id)

    done = await settled(stack, job.id, JobState.DELIVERED)
    delivery = stack.publisher.deliveries
    assert len(delivery) == 1 and delivery[0].video == fake_fal.video_bytes(submit.request_id)
    assert done.result_message_id == delivery[0].message_id
    await wait_until(lambda: stack.publisher.latest(job.id).state is JobState.DELIVERED, what="the final card")
    shown = [j.state for j in stack.publisher.cards[job.id]]
    assert JobState.QUEUED in shown and JobState.RUNNING in shown and shown[-1] is JobState.DELIVERED
    budget = await stack.services.budget.guild_pot(GUILD)
    assert (budget.reserved_seconds, budget.spent_seconds) == (0, 5)
    assert await ledger(stack) == [("reserve", 5), ("charge", 5)]


async def test_uploaded_frames_carry_retention_and_are_public(stack: Stack, fake_fal: FakeFal):
    job = await stack.services.jobs.submit(tween_request())
    stored = fake_fal.uploads[job.start_url]
    assert stored.content_type == "image/png"
    assert stored.data == image_bytes(640, 360)  # tween_request()'s start frame
    assert "2592000" in (stored.lifecycle or "")


async def test_fal_error_refunds_and_says_why(stack: Stack, fake_fal: FakeFal):
    fake_fal.script_next(JobScript(outcome="error", error="Out of GPUs", error_type="runner_scheduling_failure"))
    job = await stack.services.jobs.submit(tween_request(duration=7))
    failed = await settled(stack, job.id, JobState.FAILED)
    await wait_until(lambda: stack.publisher.notices, what="failure notice")
    assert failed.failure is FailureReason.FAL_ERROR and "Out of GPUs" in (failed.failure_detail or "")
    assert stack.publisher.deliveries == []
    budget = await stack.services.budget.guild_pot(GUILD)
    assert (budget.reserved_seconds, budget.spent_seconds) == (0, 0)
    assert await ledger(stack) == [("reserve", 7), ("refund", 7)]


async def test_fal_validation_at_result_refunds(stack: Stack, fake_fal: FakeFal):
    fake_fal.script_next(JobScript(outcome="invalid"))
    job = await stack.services.jobs.submit(tween_request())
    failed = await settled(stack, job.id, JobState.FAILED)
    assert failed.failure is FailureReason.FAL_REJECTED
    assert await ledger(stack) == [("reserve", 5), ("refund", 5)]


async def test_submit_refused_refunds_and_notifies(stack: Stack, fake_fal: FakeFal):
    fake_fal.inject(Fault(route="submit", status=500, body={"detail": "boom"}))
    job = await stack.services.jobs.submit(tween_request())
    failed = await settled(stack, job.id, JobState.FAILED)
    await wait_until(lambda: stack.publisher.notices, what="failure notice")
    assert failed.failure is FailureReason.FAL_UNREACHABLE
    assert fake_fal.count("submit") == 1
    assert await ledger(stack) == [("reserve", 5), ("refund", 5)]


async def test_submit_lost_in_the_air_is_never_resent(stack: Stack, fake_fal: FakeFal):
    fake_fal.inject(Fault(route="submit", drop=True, after_effect=True))
    job = await stack.services.jobs.submit(tween_request())
    assert job.state is JobState.SUBMIT_UNKNOWN
    await wait_until(lambda: stack.publisher.notices, what="unknown-fate notice")
    assert stack.publisher.notices[0].state is JobState.SUBMIT_UNKNOWN
    assert fake_fal.count("submit") == 1
    budget = await stack.services.budget.guild_pot(GUILD)
    assert budget.reserved_seconds == 5  # held until a moderator settles it
    assert await ledger(stack) == [("reserve", 5)]


@pytest.mark.parametrize(
    ("request_kwargs", "error"),
    [
        ({"prompt": "   "}, InputRejected),
        ({"prompt": "x" * 2501}, InputRejected),
        ({"duration": 11}, InputRejected),
        ({"start_data": image_bytes(200, 200)}, ImageRejected),
        ({"start_data": b"not an image"}, ImageRejected),
    ],
)
async def test_bad_input_costs_nothing(stack: Stack, fake_fal: FakeFal, request_kwargs, error):
    with pytest.raises(error):
        await stack.services.jobs.submit(tween_request(**request_kwargs))
    assert fake_fal.requests == []
    assert await ledger(stack) == []


async def test_budget_exhausted_refuses_before_any_fal_call(fake_fal: FakeFal, tmp_path):
    async with open_stack(settings_for(fake_fal, tmp_path, budget={"default_seconds": 8})) as stack:
        await stack.services.jobs.submit(tween_request(duration=5))
        with pytest.raises(BudgetExhausted) as caught:
            await stack.services.jobs.submit(tween_request(duration=5))
    assert (caught.value.needed, caught.value.remaining) == (5, 3)
    assert fake_fal.count("submit") == 1


async def test_card_that_cannot_be_posted_refunds_before_submit(fake_fal: FakeFal, tmp_path):
    publisher = RecordingPublisher(fail_card=True)
    async with open_stack(settings_for(fake_fal, tmp_path), publisher) as stack:
        with pytest.raises(DeliveryFailed):
            await stack.services.jobs.submit(tween_request())
        assert fake_fal.count("submit") == 0
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]


async def test_transient_fal_errors_while_polling_are_ridden_out(stack: Stack, fake_fal: FakeFal):
    fake_fal.inject(
        Fault(route="status", status=429, headers={"Retry-After": "0"}),
        Fault(route="status", status=503),
        Fault(route="result", status=502),
        Fault(route="video", drop=True),
    )
    job = await stack.services.jobs.submit(tween_request())
    await settled(stack, job.id, JobState.DELIVERED)
    assert len(stack.publisher.deliveries) == 1
    assert fake_fal.count("submit") == 1


async def test_discord_hiccup_on_delivery_is_retried_once_delivered(fake_fal: FakeFal, tmp_path):
    publisher = RecordingPublisher(fail_deliveries=2)
    async with open_stack(settings_for(fake_fal, tmp_path), publisher) as stack:
        job = await stack.services.jobs.submit(tween_request())
        done = await settled(stack, job.id, JobState.DELIVERED)
    assert len(publisher.deliveries) == 1 and done.delivery_attempts == 2


async def test_restart_while_generating_resumes_and_delivers_once(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher()
    fake_fal.script_next(JobScript(run_seconds=None))
    async with open_stack(settings, publisher) as first:
        job = await first.services.jobs.submit(tween_request())
        await settled(first, job.id, JobState.RUNNING)
    # The first process is gone; a new one opens the same database.
    async with open_stack(settings, publisher) as second:
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(second, job.id, JobState.DELIVERED)
        assert await ledger(second) == [("reserve", 5), ("charge", 5)]
    assert len(publisher.deliveries) == 1
    assert fake_fal.count("submit") == 1


async def test_restart_mid_delivery_looks_before_posting(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher()
    async with open_stack(settings, publisher) as first:
        job = await first.services.jobs.submit(tween_request())
        await settled(first, job.id, JobState.DELIVERED)
        # As if the process died after Discord took the post but before the row said so.
        await force_row(first.db, job.id, state=JobState.DELIVERING)
    async with open_stack(settings, publisher) as second:
        await settled(second, job.id, JobState.DELIVERED)
    assert len(publisher.deliveries) == 1


async def test_restart_after_submit_started_marks_unknown_and_never_resubmits(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    publisher = RecordingPublisher()
    async with open_stack(settings, publisher) as first:
        job = await first.services.jobs.submit(tween_request())
        await force_row(first.db, job.id, state=JobState.SUBMITTING)
        await first.services.tracker.stop()
    async with open_stack(settings, publisher) as second:
        unknown = await settled(second, job.id, JobState.SUBMIT_UNKNOWN)
        await wait_until(lambda: publisher.notices, what="notice")
    assert unknown.state is JobState.SUBMIT_UNKNOWN
    assert fake_fal.count("submit") == 1


async def test_restart_during_upload_refunds(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path)
    fake_fal.inject(Fault(route="cdn_upload", delay=30.0))
    async with open_stack(settings) as first:
        task = asyncio.create_task(first.services.jobs.submit(tween_request()))
        await wait_until(lambda: fake_fal.count("cdn_upload"), what="the upload to start")
        task.cancel()  # the process dies mid-upload
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await first.services.jobs.get(1)).state is JobState.RESERVED
    async with open_stack(settings) as second:
        failed = await settled(second, 1, JobState.FAILED)
        assert failed.failure is FailureReason.RESTARTED
        assert (await second.services.budget.guild_pot(GUILD)).reserved_seconds == 0
        assert await ledger(second) == [("reserve", 5), ("refund", 5)]
    assert fake_fal.count("submit") == 0


async def test_submit_uses_configured_model_endpoint(stack: Stack, fake_fal: FakeFal):
    await stack.services.jobs.submit(tween_request(end=False))
    assert fake_fal.submits[0].model == MODEL
    assert "end_image_url" not in fake_fal.submits[0].body


async def test_storage_falls_back_when_the_cdn_upload_fails(stack: Stack, fake_fal: FakeFal):
    fake_fal.inject(Fault(route="cdn_upload", status=500, times=stack.settings.fal.max_attempts))
    job = await stack.services.jobs.submit(tween_request(end=False))
    assert fake_fal.count("initiate") == 1 and fake_fal.count("put_upload") == 1
    assert fake_fal.uploads[job.start_url].data == image_bytes(640, 360)  # tween_request()'s start frame
    await settled(stack, job.id, JobState.DELIVERED)
    assert fake_fal.uploads_without_lifecycle == []


async def test_frames_are_kept_as_long_as_configured_on_fals_cdn_of_today(stack: Stack, fake_fal: FakeFal):
    job = await stack.services.jobs.submit(tween_request())
    assert {job.start_url, job.end_url} <= set(fake_fal.uploads)
    assert fake_fal.uploads_without_lifecycle == []  # the v3 CDN reads X-Fal-Object-Lifecycle, not -Preference
    lifecycle = json.loads(fake_fal.uploads[job.start_url].lifecycle_headers["X-Fal-Object-Lifecycle"])
    assert lifecycle == {"expiration_duration_seconds": stack.settings.fal.upload_retention_seconds}


async def test_a_video_behind_a_redirect_is_still_delivered(stack: Stack, fake_fal: FakeFal):
    fake_fal.redirect_videos = True
    job = await stack.services.jobs.submit(tween_request())
    await settled(stack, job.id, JobState.DELIVERED)
    assert stack.publisher.deliveries[-1].video == fake_fal.video_bytes(job.request_id)


class SentReads:
    """When the client sent each status or result read: right after the rate limiter let it go, with no await in
    between. Where the fake took them adds the event loop's delays, which bunch reads sent apart."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def httpx_event_hooks(self) -> dict[str, list]:
        return {"request": [self._sent]}

    async def _sent(self, request: httpx.Request) -> None:
        if classify_fal_request(request.method, request.url) in ("status", "result"):
            self.at.append(time.monotonic())

    def fal_transport_error(self, kind: str | None, exc: BaseException) -> None:
        pass


async def test_reads_never_exceed_the_configured_rate(fake_fal: FakeFal, tmp_path):
    settings = settings_for(
        fake_fal,
        tmp_path,
        fal={"max_reads_per_second": 20.0},
        budget={"default_seconds": 1000, "member_seconds": 1000},
        concurrency={"per_member": 8, "per_guild": 8},
    )
    fake_fal.default_script = JobScript(queue_seconds=0.6, run_seconds=0.3)
    sent = SentReads()
    async with open_stack(settings, fal_observer=sent) as stack:
        jobs = [await stack.services.jobs.submit(tween_request()) for _ in range(8)]
        for job in jobs:
            await settled(stack, job.id, JobState.DELIVERED)
    reads = sorted(sent.at)
    assert len(reads) >= 16
    # Eight jobs looking every 20-60 ms would ask hundreds of times a second; the bucket allows its burst (20) plus
    # 20 a second. A timestamp can lag the limiter's own clock by a descheduled moment: 0.25 s is allowed for that.
    assert max(sum(1 for t in reads if start <= t < start + 1.0) for start in reads) <= 20 + 20 * 1.25


async def test_a_job_fal_keeps_queued_past_the_deadline_is_asked_to_stop_and_refunded_once_it_has(
    fake_fal: FakeFal, tmp_path, monkeypatch
):
    settings = settings_for(fake_fal, tmp_path, tracker={"queue_deadline": 0.2})
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(settings) as stack:
        real_submit = stack.fal.submit

        async def as_before_deadlines(*args, **kwargs):  # a job sent by a Tween that gave fal no start deadline
            return await real_submit(*args, **{**kwargs, "start_timeout": None})

        monkeypatch.setattr(stack.fal, "submit", as_before_deadlines)
        job = await stack.services.jobs.submit(tween_request())
        failed = await settled(stack, job.id, JobState.FAILED)
        await wait_until(lambda: stack.publisher.notices, what="the notice")
        assert failed.failure is FailureReason.STUCK
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)]
    assert fake_fal.cancelled == {fake_fal.submits[0].request_id}


@pytest.mark.parametrize("route", ["waiting", "approval"])
async def test_a_card_edit_that_fails_after_the_job_is_placed_never_ends_it(fake_fal: FakeFal, tmp_path, route):
    settings = settings_for(fake_fal, tmp_path, concurrency={"per_member": 1}, budget={"member_seconds": 100})
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(settings) as stack:
        first = await stack.services.jobs.submit(tween_request())
        if route == "approval":
            await stack.services.moderation.configure(MOD, "approval", approval="always")
        stack.publisher.fail_updates = 1
        placed = await stack.services.jobs.submit(tween_request())  # the edit fails; the job goes on all the same
        assert placed.state in (JobState.WAITING, JobState.AWAITING_APPROVAL)
        if route == "approval":
            await stack.services.moderation.decide(MOD, placed.id, approve=True)
        fake_fal.release(fake_fal.submits[0].request_id)
        for job in (first, placed):
            await settled(stack, job.id, JobState.DELIVERED)
